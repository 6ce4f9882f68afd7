//! Cancelling an order: by its customer while it is pending or confirmed, or by the expiry
//! when it stayed pending too long. Either way `OrderCancelled` tells catalog to give back
//! what it holds for the order, or never to take it.

use crate::db;
use crate::domain::order::{Order, OrderStatus};
use crate::error::OrdersError;
use crate::events;
use shop_events::outbox;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// The customer cancels order `id` (ownership is the caller's to check).
pub async fn by_customer(db: &PgPool, id: Uuid) -> Result<Order, OrdersError> {
    // Decided on the locked row: a confirmation arriving meanwhile waits for us, or we for it.
    let mut tx = db.begin().await?;
    let status = db::lock_status(&mut tx, id)
        .await?
        .ok_or(OrdersError::NotFound(id))?;
    if !status.can_cancel() {
        return Err(OrdersError::NotCancellable(status));
    }
    let order = cancel(&mut tx, id, status, "cancelled by the customer").await?;
    tx.commit().await?;
    tracing::info!(order_id = %id, was = %status, "order cancelled");
    Ok(order)
}

/// The expiry cancels pending order `id`, locked by the caller in `conn`'s transaction.
pub async fn expired(conn: &mut PgConnection, id: Uuid, reason: &str) -> Result<(), OrdersError> {
    cancel(conn, id, OrderStatus::Pending, reason).await?;
    metrics::counter!("orders_expired_total").increment(1);
    tracing::warn!(order_id = %id, "pending order expired and cancelled");
    Ok(())
}

/// Cancels the locked order `id`, now `was`, and announces it.
async fn cancel(
    conn: &mut PgConnection,
    id: Uuid,
    was: OrderStatus,
    reason: &str,
) -> Result<Order, OrdersError> {
    db::set_status(conn, id, OrderStatus::Cancelled, Some(reason)).await?;
    let order = db::get_order(conn, id)
        .await?
        .ok_or(OrdersError::NotFound(id))?;
    // Catalog returns the stock of a confirmed order, and makes sure a pending one's is
    // never taken, when it reads this.
    outbox::enqueue(
        conn,
        &events::cancelled(&order, was == OrderStatus::Confirmed),
    )
    .await?;
    Ok(order)
}
