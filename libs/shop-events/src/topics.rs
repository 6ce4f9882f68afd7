//! The topics of the event backbone, and creating them.
//!
//! Each domain service publishes to one topic of its own; every topic has a dead-letter
//! topic (`<topic>.dlq`) where consumers park messages they cannot process. Brokers here
//! do not create topics on first use, so each service calls [`ensure`] at start-up.

use crate::{EventsError, KafkaConfig, kafka};
use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use std::time::Duration;

/// The users service's events.
pub const USERS: &str = "users.events";
/// The catalog service's events: products and stock decisions.
pub const CATALOG: &str = "catalog.events";
/// The orders service's events.
pub const ORDERS: &str = "orders.events";

/// Every topic of the contract.
pub const ALL: [&str; 3] = [USERS, CATALOG, ORDERS];

/// The dead-letter topic of `topic`.
pub fn dlq(topic: &str) -> String {
    format!("{topic}.dlq")
}

/// How long topic creation and its metadata look-up may take.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Creates every topic of the contract and its dead-letter topic where missing, with
/// `config.topic_partitions` partitions. Idempotent: existing topics are left as they are.
pub async fn ensure(config: &KafkaConfig) -> Result<(), EventsError> {
    let names: Vec<String> = ALL
        .iter()
        .flat_map(|topic| [config.topic(topic), config.dlq_topic(topic)])
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    create(config, &names).await
}

/// [`ensure`] at start-up, where a broker that is not there yet must not stop the service:
/// the failure is logged and `false` returned. Events wait in the outbox meanwhile, and
/// the relay publishes them once the broker (and the topics) are back.
pub async fn ensure_or_warn(config: &KafkaConfig) -> bool {
    match ensure(config).await {
        Ok(()) => true,
        Err(error) => {
            tracing::warn!(
                %error,
                brokers = %config.brokers,
                "cannot create the Kafka topics now: starting without the broker"
            );
            false
        }
    }
}

/// Whether a failed produce or consume may mean the topic is gone (a new cluster, a wiped
/// volume): the broker says it does not know it, or a message timed out, which is what
/// librdkafka reports for messages to a topic it never sees in the metadata. Worth an
/// [`ensure`], which is idempotent and fails fast without a broker.
pub fn may_be_missing(error: &KafkaError) -> bool {
    let code = match error {
        KafkaError::MessageProduction(code)
        | KafkaError::MessageConsumption(code)
        | KafkaError::MetadataFetch(code)
        | KafkaError::Global(code) => *code,
        _ => return false,
    };
    matches!(
        code,
        RDKafkaErrorCode::UnknownTopicOrPartition
            | RDKafkaErrorCode::UnknownTopic
            | RDKafkaErrorCode::UnknownPartition
            | RDKafkaErrorCode::UnknownTopicId
            | RDKafkaErrorCode::MessageTimedOut
    )
}

/// Creates the named topics where missing (tests use it for topics of their own).
pub async fn create(config: &KafkaConfig, names: &[&str]) -> Result<(), EventsError> {
    let admin = kafka::admin_client(config)?;
    let replication = replication_factor(config).await?;
    let new_topics: Vec<NewTopic<'_>> = names
        .iter()
        .map(|name| {
            NewTopic::new(
                name,
                config.topic_partitions,
                TopicReplication::Fixed(replication),
            )
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(ADMIN_TIMEOUT));
    for result in admin.create_topics(&new_topics, &options).await? {
        match result {
            Ok(name) => tracing::info!(topic = %name, "topic created"),
            // Another replica, or an earlier start, was first: what we wanted exists.
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => return Err(EventsError::CreateTopic { topic, code }),
        }
    }
    Ok(())
}

/// Three copies of each partition where the cluster has three brokers, fewer on a smaller
/// one (a single development broker cannot hold more than one).
async fn replication_factor(config: &KafkaConfig) -> Result<i32, EventsError> {
    let brokers = kafka::fetch_metadata(config, ADMIN_TIMEOUT)
        .await?
        .brokers()
        .len();
    Ok(i32::try_from(brokers.clamp(1, 3)).unwrap_or(1))
}
