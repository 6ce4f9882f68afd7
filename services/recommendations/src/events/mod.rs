//! What the recommendations service learns from the other services' events.
//!
//! One consumer, group [`GROUP`], reads `orders.events` and `catalog.events`:
//! - `OrderConfirmed`: a purchase (the user's history, co-purchase pairs, popularity);
//! - `ProductUpserted`: the product exists, and may be recommended (again);
//! - `ProductDeleted`: the product is never recommended.
//!
//! Every other event type is ignored. Each event's effects commit together with its mark
//! in `processed_events` (see [`EventConsumer`]), so a redelivered event changes nothing.

use crate::actions::learn;
use crate::domain::HalfLife;
use shop_events::{Envelope, Event, Handler, HandlerError, stored_version, topics};
use sqlx::PgConnection;

/// The consumer group: every replica of the service is a member, so each event is handled
/// by one of them. Prefixed like the topics by `KafkaConfig::topic_prefix`.
pub const GROUP: &str = "recommendations";

/// The topics the consumer reads, as the contract names them.
pub const TOPICS: [&str; 2] = [topics::ORDERS, topics::CATALOG];

/// Turns events into the signals the tiers read.
#[derive(Debug, Clone)]
pub struct Signals {
    /// How fast an order's weight in the popular tier fades.
    pub popularity_half_life: HalfLife,
}

impl Handler for Signals {
    async fn handle(
        &self,
        conn: &mut PgConnection,
        envelope: &Envelope,
    ) -> Result<(), HandlerError> {
        // When it happened, not when it arrived: a late order is counted as of its time.
        let at = envelope.time;
        match &envelope.event {
            Event::OrderConfirmed(order) => {
                learn::purchase(conn, order, at, self.popularity_half_life).await?;
            }
            Event::ProductUpserted(product) => {
                learn::product_exists(
                    conn,
                    product.product_id,
                    stored_version(product.version)?,
                    at,
                )
                .await?;
            }
            Event::ProductDeleted(product) => {
                learn::product_deleted(
                    conn,
                    product.product_id,
                    stored_version(product.version)?,
                    at,
                )
                .await?;
            }
            // Placed, rejected or cancelled orders are not purchases; stock and users
            // teach nothing about what to recommend.
            _ => {}
        }
        Ok(())
    }
}
