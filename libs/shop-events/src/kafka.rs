//! Building librdkafka clients with the settings the backbone relies on.

use crate::{EventsError, KafkaConfig};
use rdkafka::ClientConfig;
use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::metadata::Metadata;
use rdkafka::producer::{FutureProducer, Producer};
use rdkafka::types::RDKafkaErrorCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::DetachedProducer;

/// How long the producer keeps retrying one message before reporting it failed. Short enough
/// that the relay regains control (and reports its backlog) during a broker outage; the relay
/// then retries the row itself.
const MESSAGE_TIMEOUT: Duration = Duration::from_secs(10);

/// See `topic.metadata.refresh.interval.ms` in [`client_config`].
const METADATA_REFRESH: Duration = Duration::from_secs(10);

/// Settings every client shares.
pub(crate) fn client_config(config: &KafkaConfig) -> ClientConfig {
    let mut client = ClientConfig::new();
    client
        .set("bootstrap.servers", &config.brokers)
        // Topics are created by `topics::ensure`, never by a typo.
        .set("allow.auto.create.topics", "false")
        // A topic created again after the broker lost everything is seen within this, not
        // librdkafka's default 5 minutes; one small metadata request per client meanwhile.
        .set(
            "topic.metadata.refresh.interval.ms",
            METADATA_REFRESH.as_millis().to_string(),
        )
        .set_log_level(RDKafkaLogLevel::Warning);
    client
}

/// A producer that writes each message exactly once per partition and in order, even
/// when it retries (`enable.idempotence`), and counts a message delivered only once every
/// in-sync replica has it (`acks=all`).
///
/// An idempotent producer can hit a *fatal* error (the broker fenced it after an outage, a
/// sequence gap, a new cluster that does not know its producer id): librdkafka then fails
/// every later message, and the only way on is a new producer.
/// [`renew_if_broken`](Self::renew_if_broken) makes one. Producers are destroyed on a
/// thread of their own ([`DetachedProducer`]), never on the async worker that replaces or
/// drops them.
pub(crate) struct IdempotentProducer {
    config: KafkaConfig,
    client_id: String,
    current: Mutex<Arc<DetachedProducer>>,
}

impl IdempotentProducer {
    pub(crate) fn new(config: &KafkaConfig, client_id: &str) -> Result<Self, EventsError> {
        Ok(Self {
            config: config.clone(),
            client_id: client_id.to_owned(),
            current: Mutex::new(Arc::new(DetachedProducer::new(create_producer(
                config, client_id,
            )?))),
        })
    }

    /// The producer to send with (a cheap handle).
    pub(crate) fn get(&self) -> Arc<DetachedProducer> {
        self.lock().clone()
    }

    /// Flushes for up to `flush` and destroys the producer, waiting at most `patience`
    /// (a handle still held elsewhere destroys it, off the async threads, when dropped).
    pub(crate) async fn close(self, flush: Duration, patience: Duration) -> bool {
        let current = self
            .current
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        match Arc::try_unwrap(current) {
            Ok(producer) => producer.close(flush, patience).await,
            Err(_shared) => false,
        }
    }

    /// After a failed send: replaces the producer if it is beyond repair, which librdkafka
    /// reports as a fatal error, or the broker by refusing the producer's identity (what
    /// tansu does after an outage in which messages timed out), or if it may be attached
    /// to a cluster that is gone (messages timed out, the topic is unknown).
    pub(crate) fn renew_if_broken(&self, error: &KafkaError) {
        let mut current = self.lock();
        let fatal = current.client().fatal_error().map(|(code, _)| code);
        let refused = match error {
            KafkaError::MessageProduction(code) => Some(*code).filter(|code| {
                matches!(
                    code,
                    RDKafkaErrorCode::ProducerFenced
                        | RDKafkaErrorCode::InvalidProducerEpoch
                        | RDKafkaErrorCode::UnknownProducerId
                        | RDKafkaErrorCode::OutOfOrderSequenceNumber
                        | RDKafkaErrorCode::InvalidProducerIdMapping
                        | RDKafkaErrorCode::Fatal
                )
            }),
            _ => None,
        };
        // Messages that time out, or a topic the broker does not know, may mean the cluster
        // was replaced (a new one, a wiped volume): the producer's metadata and producer id
        // belong to one that is gone, and it stays stuck on them. A new producer costs
        // little next to the message timeout that led here.
        let stale = match error {
            KafkaError::MessageProduction(code) if crate::topics::may_be_missing(error) => {
                Some(*code)
            }
            _ => None,
        };
        let Some(code) = fatal.or(refused).or(stale) else {
            return;
        };
        tracing::warn!(%code, client_id = %self.client_id, "the Kafka producer is broken or stale, making a new one");
        metrics::counter!("kafka_producers_renewed_total").increment(1);
        match create_producer(&self.config, &self.client_id) {
            // The old one is destroyed on a thread of its own once its last handle goes.
            Ok(producer) => *current = Arc::new(DetachedProducer::new(producer)),
            Err(error) => tracing::error!(%error, "cannot make a new Kafka producer"),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Arc<DetachedProducer>> {
        // The guarded value is only ever replaced whole: a panic elsewhere cannot leave it
        // half-updated.
        self.current.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn create_producer(config: &KafkaConfig, client_id: &str) -> Result<FutureProducer, EventsError> {
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
