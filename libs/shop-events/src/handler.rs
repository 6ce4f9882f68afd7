//! What a service plugs into an [`EventConsumer`](crate::EventConsumer): its handler, the
//! handler's errors, and how the consumer retries.

use crate::Envelope;
use sqlx::PgConnection;
use std::future::Future;
use std::time::Duration;

/// What a service does with the events it consumes.
///
/// `handle` runs inside the transaction that also records the event as processed: make
/// every change through `conn`, and the event's effects and its "processed" mark commit
/// together or not at all. Ignore the event types you do not care about (`_ => Ok(())`).
pub trait Handler: Send + Sync + 'static {
    fn handle(
        &self,
        conn: &mut PgConnection,
        envelope: &Envelope,
    ) -> impl Future<Output = Result<(), HandlerError>> + Send;
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a handler could not process an event.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Might work on a later try (a lock timeout, a lost connection): retried with backoff
    /// up to [`ConsumerSettings::max_retries`] times, then dead-lettered.
    #[error("{0}")]
    Transient(BoxError),
    /// Will never work (the event contradicts what the service knows): dead-lettered at once.
    #[error("{0}")]
    Permanent(BoxError),
}

impl HandlerError {
    pub fn transient(error: impl Into<BoxError>) -> Self {
        Self::Transient(error.into())
    }

    pub fn permanent(error: impl Into<BoxError>) -> Self {
        Self::Permanent(error.into())
    }
}

/// Database errors are worth a retry: `?` on a query in a handler gives a transient error.
impl From<sqlx::Error> for HandlerError {
    fn from(error: sqlx::Error) -> Self {
        Self::transient(error)
    }
}

/// How a consumer retries. The defaults suit the shop.
#[derive(Debug, Clone)]
pub struct ConsumerSettings {
    /// Retries of a failing handler before its message is dead-lettered.
    pub max_retries: u32,
    /// The first pause between retries; it doubles each time.
    pub retry_backoff: Duration,
    /// The longest pause while the database or the dead-letter topic is unreachable.
    pub max_backoff: Duration,
    /// Processed event ids are forgotten after this long. Keep it longer than any
    /// redelivery can come late: the topics' retention (Kafka's default is 7 days).
    pub keep_processed: Duration,
}

impl Default for ConsumerSettings {
    fn default() -> Self {
        Self {
            max_retries: 3,
            retry_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            keep_processed: Duration::from_secs(14 * 24 * 60 * 60),
        }
    }
}

/// A product version (`ProductUpserted.version`, `ProductDeleted.version`) as the replicas
/// store it, in a Postgres `bigint`. A larger one is a version no catalog sends: the event
/// is dead-lettered rather than stored wrong.
pub fn stored_version(version: u64) -> Result<i64, HandlerError> {
    i64::try_from(version)
        .map_err(|_| HandlerError::permanent(format!("product version {version} is out of range")))
}
