//! Building librdkafka clients with the settings the backbone relies on.

use crate::{EventsError, KafkaConfig};
use rdkafka::ClientConfig;
use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::metadata::Metadata;
use rdkafka::producer::FutureProducer;
use std::time::Duration;

/// How long the producer keeps retrying one message before reporting it failed. Short enough
/// that the relay regains control (and reports its backlog) during a broker outage; the relay
/// then retries the row itself.
const MESSAGE_TIMEOUT: Duration = Duration::from_secs(10);

/// Settings every client shares.
pub(crate) fn client_config(config: &KafkaConfig) -> ClientConfig {
    let mut client = ClientConfig::new();
    client
        .set("bootstrap.servers", &config.brokers)
        // Topics are created by `topics::ensure`, never by a typo.
        .set("allow.auto.create.topics", "false")
        .set_log_level(RDKafkaLogLevel::Warning);
    client
}

/// A producer that writes each message exactly once per partition and in order, even
/// when it retries (`enable.idempotence`), and counts a message delivered only once every
/// in-sync replica has it (`acks=all`).
pub(crate) fn producer(
    config: &KafkaConfig,
    client_id: &str,
) -> Result<FutureProducer, EventsError> {
    let producer = client_config(config)
        .set("client.id", client_id)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set(
            "message.timeout.ms",
            MESSAGE_TIMEOUT.as_millis().to_string(),
        )
        // A few milliseconds of batching: the relay sends rows in batches anyway.
        .set("linger.ms", "5")
        .create()?;
    Ok(producer)
}

pub(crate) fn admin_client(
    config: &KafkaConfig,
) -> Result<AdminClient<DefaultClientContext>, EventsError> {
    Ok(client_config(config).create()?)
}

/// The cluster's metadata, fetched on a blocking thread (librdkafka's call blocks).
pub(crate) async fn fetch_metadata(
    config: &KafkaConfig,
    timeout: Duration,
) -> Result<Metadata, EventsError> {
    let client: BaseConsumer = client_config(config).create()?;
    let metadata =
        tokio::task::spawn_blocking(move || client.fetch_metadata(None, timeout)).await??;
    Ok(metadata)
}
