//! What can go wrong in the event backbone itself (handlers have [`HandlerError`](crate::HandlerError)).

use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;

#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    #[error("kafka: {0}")]
    Kafka(#[from] KafkaError),
    #[error("cannot create topic {topic}: {code}")]
    CreateTopic {
        topic: String,
        code: RDKafkaErrorCode,
    },
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("shop-events migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot encode an event as JSON: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("{failed} of {total} outbox messages were not delivered: {source}")]
    Publish {
        failed: usize,
        total: usize,
        #[source]
        source: KafkaError,
    },
    #[error("a blocking Kafka call was interrupted: {0}")]
    Interrupted(#[from] tokio::task::JoinError),
}
