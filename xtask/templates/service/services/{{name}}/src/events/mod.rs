//! What the {{name}} service learns from the other services' events.
//!
//! One consumer, group [`GROUP`], reads `catalog.events`:
//! - `ProductDeleted`: the product leaves every list ([`crate::actions::forget`]).
//!
//! Every other event type is ignored. Each event's effects commit together with its mark
//! in `processed_events` (see `shop_events::EventConsumer`), so a redelivered event
//! changes nothing. What this service relies on in those events is written down in
//! `contracts/catalog.json`, which catalog's own tests check.

use crate::actions::forget;
use shop_events::{Envelope, Event, Handler, HandlerError, topics};
use sqlx::PgConnection;

/// The consumer group: every replica of the service is a member, so each event is handled
/// by one of them. Prefixed like the topics by `KafkaConfig::topic_prefix`.
pub const GROUP: &str = "{{name}}";

/// The topics the consumer reads, as the contract names them.
pub const TOPICS: [&str; 1] = [topics::CATALOG];

/// Removes deleted products from the lists.
#[derive(Debug, Clone)]
pub struct ProductsGone;

impl Handler for ProductsGone {
    async fn handle(
        &self,
        conn: &mut PgConnection,
        envelope: &Envelope,
    ) -> Result<(), HandlerError> {
        if let Event::ProductDeleted(product) = &envelope.event {
            forget::product_deleted(conn, product.product_id).await?;
        }
        // New and changed products, stock and everything else: nothing on a list changes.
        Ok(())
    }
}
