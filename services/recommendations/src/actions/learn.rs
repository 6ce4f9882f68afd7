//! What the service learns from the shop's events: the signals the tiers rank with.
//!
//! Each runs in the event consumer's transaction, which also marks the event processed.

use crate::db;
use crate::domain::{HalfLife, OrderLine};
use shop_events::event::OrderConfirmed;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

/// A confirmed order is a purchase, as of `at` (when it happened, not when it arrived):
/// the customer's history, co-purchase pairs, and popularity fading with `half_life`.
pub async fn purchase(
    conn: &mut PgConnection,
    order: &OrderConfirmed,
    at: OffsetDateTime,
    half_life: HalfLife,
) -> Result<(), sqlx::Error> {
    let lines: Vec<OrderLine> = order
        .items
        .iter()
        .map(|item| OrderLine {
            product_id: item.product_id,
            quantity: item.quantity,
        })
        .collect();
    db::record_purchase(conn, order.user_id, &lines, at, half_life).await
}

/// The product exists at `version`: it may be recommended (again). A late event of an
/// older version changes nothing.
pub async fn product_exists(
    conn: &mut PgConnection,
    product_id: Uuid,
    version: i64,
    at: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    db::upsert_product(conn, product_id, version, at).await
}

/// The product is gone (at a version above every one it had): never recommended again,
/// unless a newer version brings it back.
pub async fn product_deleted(
    conn: &mut PgConnection,
    product_id: Uuid,
    version: i64,
    at: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    db::mark_product_deleted(conn, product_id, version, at).await
}
