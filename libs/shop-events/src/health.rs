//! Whether the broker answers: a check for `shop_server::Readiness::with_noncritical_check`.

use crate::{DetachedProducer, EventsError, KafkaConfig, kafka};
use rdkafka::producer::{FutureProducer, Producer};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// How long the check waits for the broker.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// What a readiness check returns.
pub type CheckFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// A readiness check that asks the broker for its metadata, with a short timeout.
///
/// One client is made here and reused by every call, so a check costs one round trip.
/// Register it as a *non-critical* check (`Readiness::with_noncritical_check`): thanks to
/// the outbox, a service's HTTP API keeps working while the broker is away (events wait in
/// the outbox), so a broker outage makes the service `degraded`, not unready.
pub fn broker_check(
    kafka: &KafkaConfig,
) -> Result<impl Fn() -> CheckFuture + Send + Sync + 'static, EventsError> {
    // A producer polls its event queue on a thread of its own, so an idle client never
    // piles up undelivered error events.
    let client: FutureProducer = kafka::client_config(kafka).create()?;
    // Destroyed off the async threads when the readiness checks go.
    let client = Arc::new(DetachedProducer::new(client));
    Ok(move || -> CheckFuture {
        let client = client.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                client
                    .client()
                    .fetch_metadata(None, CHECK_TIMEOUT)
                    .map(|_| ())
                    .map_err(|error| format!("the Kafka broker does not answer: {error}"))
            })
            .await
            .map_err(|error| error.to_string())?
        })
    })
}
