//! Catalog's answers settle an order: stock reserved confirms it, stock short rejects it,
//! and a release closes a cancellation.
//!
//! These run inside the event consumer's transaction (`conn`), which also records the
//! event as processed: the change, its announcement and that mark commit together.

use crate::db;
use crate::domain::order::{Order, OrderStatus};
use crate::error::OrdersError;
use crate::events;
use crate::events::SOURCE;
use shop_events::event::OrderRejected;
use shop_events::{Envelope, outbox};
use sqlx::PgConnection;
use uuid::Uuid;

/// What an answer did to its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// The pending order took the answer.
    Applied,
    /// The order was settled before (cancelled meanwhile, or a repeated answer): nothing
    /// changed. Catalog releases stock held for a cancelled order when it reads our
    /// `OrderCancelled`.
    Before(OrderStatus),
}

/// Stock is reserved: the pending order becomes confirmed, announced as `OrderConfirmed`.
pub async fn confirm(conn: &mut PgConnection, order_id: Uuid) -> Result<Settled, OrdersError> {
    if let Some(status) = settled_before(conn, order_id).await? {
        return Ok(Settled::Before(status));
    }
    db::set_status(conn, order_id, OrderStatus::Confirmed, None).await?;
    let order = load(conn, order_id).await?;
    outbox::enqueue(conn, &events::confirmed(&order)).await?;
    tracing::info!(%order_id, "order confirmed");
    Ok(Settled::Applied)
}

/// Not enough stock: the pending order becomes rejected with catalog's `reason`, announced
/// as `OrderRejected`.
pub async fn reject(
    conn: &mut PgConnection,
    order_id: Uuid,
    reason: &str,
) -> Result<Settled, OrdersError> {
    if let Some(status) = settled_before(conn, order_id).await? {
        return Ok(Settled::Before(status));
    }
    db::set_status(conn, order_id, OrderStatus::Rejected, Some(reason)).await?;
    let order = load(conn, order_id).await?;
    let announcement = Envelope::new(
        SOURCE,
        OrderRejected {
            order_id,
            user_id: order.user_id,
            reason: reason.to_owned(),
        },
    );
    outbox::enqueue(conn, &announcement).await?;
    tracing::info!(%order_id, %reason, "order rejected");
    Ok(Settled::Applied)
}

/// Catalog holds no stock for the cancelled order any more: the reconciler stops asking.
/// False when there was nothing to record (not cancelled, or known before).
pub async fn record_release(conn: &mut PgConnection, order_id: Uuid) -> Result<bool, OrdersError> {
    let recorded = db::record_stock_released(conn, order_id).await?;
    if recorded {
        tracing::info!(%order_id, "catalog released the stock");
    }
    Ok(recorded)
}

/// Locks the order; `None` when it is pending (the answer applies), else its status. An
/// answer about an order this service does not know is `NotFound`.
async fn settled_before(
    conn: &mut PgConnection,
    order_id: Uuid,
) -> Result<Option<OrderStatus>, OrdersError> {
    match db::lock_status(conn, order_id).await? {
        Some(OrderStatus::Pending) => Ok(None),
        Some(status) => {
            tracing::info!(%order_id, %status, "stock decision for a settled order ignored");
            Ok(Some(status))
        }
        None => Err(OrdersError::NotFound(order_id)),
    }
}

async fn load(conn: &mut PgConnection, order_id: Uuid) -> Result<Order, OrdersError> {
    db::get_order(conn, order_id)
        .await?
        .ok_or(OrdersError::NotFound(order_id))
}
