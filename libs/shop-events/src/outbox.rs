//! The transactional outbox: an event is written to the service's own `outbox` table in the
//! same transaction as the change it announces, so that either both happen or neither does.
//! The [`OutboxRelay`](crate::OutboxRelay) then publishes it, at least once.

use crate::{Envelope, EventsError};
use sqlx::PgConnection;
use sqlx::types::Json;
use std::collections::HashMap;
use std::time::Duration;
use tracing::Instrument;

/// Adds `envelope` to the outbox, inside the caller's transaction: pass the transaction
/// that changes the state the event announces (`&mut *tx`). If it rolls back, the event is
/// never published.
///
/// The current trace context is saved with the row, so consumers' spans join the trace of
/// the request that caused the event. The relay is woken when the transaction commits.
pub async fn enqueue(conn: &mut PgConnection, envelope: &Envelope) -> Result<(), EventsError> {
    // The message's own span (OpenTelemetry messaging conventions: "create"), a child of
    // the caller's; its context travels in the headers and parents the consumers' spans.
    let topic = envelope.topic();
    let span = tracing::info_span!(
        "create",
        otel.name = %format!("create {topic}"),
        otel.kind = "producer",
        messaging.system = "kafka",
        messaging.operation.type = "create",
        messaging.destination.name = %topic,
        messaging.message.id = %envelope.id,
        "event.type" = envelope.event_type(),
    );
    async {
        let mut trace_context = HashMap::new();
        shop_telemetry::propagation::inject(&mut trace_context);
        // Unqualified: the outbox is in the schema first on the service's search_path.
        // Postgres delivers the notification only on commit, and never for a rolled-back
        // transaction.
        sqlx::query(
            "WITH queued AS (
                 INSERT INTO outbox (id, topic, key, payload, headers) VALUES ($1, $2, $3, $4, $5)
                 RETURNING id
             )
             SELECT pg_notify(concat('shop_events_outbox_', current_schema()), '') FROM queued",
        )
        .bind(envelope.id)
        .bind(topic)
        .bind(envelope.key())
        .bind(Json(envelope))
        .bind(Json(trace_context))
        .execute(conn)
        .instrument(shop_db::query_span("INSERT", "outbox"))
        .await
    }
    .instrument(span)
    .await?;
    Ok(())
}

/// How far publishing is behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backlog {
    /// Rows not published yet (and not set aside).
    pub pending: i64,
    /// How long the oldest of them has waited (zero when none is waiting).
    pub oldest_age: Duration,
    /// Rows set aside because the broker refuses them for good (`failed_at`): they wait
    /// for someone to look at them.
    pub failed: i64,
}

/// The outbox's current backlog.
pub async fn backlog(conn: &mut PgConnection) -> Result<Backlog, EventsError> {
    let (pending, oldest_age_seconds, failed): (i64, f64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE failed_at IS NULL),
                coalesce(extract(epoch FROM clock_timestamp() - min(created_at) FILTER (WHERE failed_at IS NULL)), 0)::float8,
                count(*) FILTER (WHERE failed_at IS NOT NULL)
         FROM outbox WHERE sent_at IS NULL",
    )
    .fetch_one(conn)
    .await?;
    Ok(Backlog {
        pending,
        oldest_age: Duration::try_from_secs_f64(oldest_age_seconds).unwrap_or_default(),
        failed,
    })
}
