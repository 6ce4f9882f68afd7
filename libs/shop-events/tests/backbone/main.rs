//! The backbone against the real Postgres and Kafka broker (`KAFKA_BROKERS`).

mod consumer;
mod helpers;
mod outbox;
mod setup;

use shop_events::event::{Item, OrderConfirmed};
use shop_events::{Envelope, Handler, HandlerError};
use sqlx::PgConnection;
use uuid::Uuid;

/// An `orders.events` event about a new order.
pub fn order_confirmed() -> Envelope {
    Envelope::new(
        "orders",
        OrderConfirmed {
            order_id: Uuid::now_v7(),
            user_id: Uuid::now_v7(),
            items: vec![Item {
                product_id: Uuid::now_v7(),
                quantity: 1,
            }],
        },
    )
}

/// Records each event it handles in the `seen` table, with the trace it ran in.
pub struct Recorder;

impl Handler for Recorder {
    async fn handle(
        &self,
        conn: &mut PgConnection,
        envelope: &Envelope,
    ) -> Result<(), HandlerError> {
        sqlx::query("INSERT INTO seen (event_id, type, trace_id) VALUES ($1, $2, $3)")
            .bind(envelope.id)
            .bind(envelope.event_type())
            .bind(shop_telemetry::propagation::current_trace_id())
            .execute(conn)
            .await?;
        Ok(())
    }
}
