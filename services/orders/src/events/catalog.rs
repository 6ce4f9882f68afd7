//! What orders does with catalog's events.

use super::SOURCE;
use crate::db;
use crate::domain::order::OrderStatus;
use shop_events::event::{Event, OrderRejected, StockRejected, StockReserved, stored_version};
use shop_events::{Envelope, Handler, HandlerError, outbox};
use sqlx::PgConnection;
use uuid::Uuid;

/// The handler of `catalog.events`.
#[derive(Debug, Clone, Copy, Default)]
pub struct CatalogEvents;

impl Handler for CatalogEvents {
    async fn handle(
        &self,
        conn: &mut PgConnection,
        envelope: &Envelope,
    ) -> Result<(), HandlerError> {
        match &envelope.event {
            Event::StockReserved(reserved) => confirm(conn, reserved).await,
            Event::StockRejected(rejected) => reject(conn, rejected).await,
            Event::StockReleased(released) => {
                // The answer to a cancellation: the reconciler stops asking.
                let recorded = db::record_stock_released(conn, released.order_id)
                    .await
                    .map_err(HandlerError::transient)?;
                if recorded {
                    tracing::info!(order_id = %released.order_id, "catalog released the stock");
                }
                Ok(())
            }
            Event::ProductUpserted(product) => db::upsert_product(
                conn,
                product.product_id,
                &product.name,
                &product.price.clone().into(),
                stored_version(product.version)?,
            )
            .await
            .map_err(HandlerError::transient),
            Event::ProductDeleted(product) => {
                db::mark_product_deleted(conn, product.product_id, stored_version(product.version)?)
                    .await
                    .map_err(HandlerError::transient)
            }
            _ => Ok(()),
        }
    }
}

/// Stock is reserved: a pending order becomes confirmed. An order cancelled meanwhile stays
/// cancelled (catalog releases its stock when it reads our `OrderCancelled`).
async fn confirm(conn: &mut PgConnection, reserved: &StockReserved) -> Result<(), HandlerError> {
    if !settle(conn, reserved.order_id).await? {
        return Ok(());
    }
    db::set_status(conn, reserved.order_id, OrderStatus::Confirmed, None)
        .await
        .map_err(HandlerError::transient)?;
    let order = load(conn, reserved.order_id).await?;
    outbox::enqueue(conn, &super::confirmed(&order))
        .await
        .map_err(HandlerError::transient)?;
    tracing::info!(order_id = %order.id, "order confirmed");
    Ok(())
}

/// Not enough stock: a pending order becomes rejected, with catalog's reason.
async fn reject(conn: &mut PgConnection, rejected: &StockRejected) -> Result<(), HandlerError> {
    if !settle(conn, rejected.order_id).await? {
        return Ok(());
    }
    db::set_status(
        conn,
        rejected.order_id,
        OrderStatus::Rejected,
        Some(&rejected.reason),
    )
    .await
    .map_err(HandlerError::transient)?;
    let order = load(conn, rejected.order_id).await?;
    let announcement = Envelope::new(
        SOURCE,
        OrderRejected {
            order_id: order.id,
            user_id: order.user_id,
            reason: rejected.reason.clone(),
        },
    );
    outbox::enqueue(conn, &announcement)
        .await
        .map_err(HandlerError::transient)?;
    tracing::info!(order_id = %order.id, reason = %rejected.reason, "order rejected");
    Ok(())
}

/// Locks the order and tells whether catalog's decision still applies to it (it is pending).
/// A decision about an order this service does not know is a bug upstream: dead-letter it.
async fn settle(conn: &mut PgConnection, order_id: Uuid) -> Result<bool, HandlerError> {
    match db::lock_status(conn, order_id)
        .await
        .map_err(HandlerError::transient)?
    {
        Some(OrderStatus::Pending) => Ok(true),
        Some(status) => {
            tracing::info!(%order_id, %status, "stock decision for a settled order ignored");
            Ok(false)
        }
        None => Err(HandlerError::permanent(format!("no order {order_id}"))),
    }
}

async fn load(
    conn: &mut PgConnection,
    order_id: Uuid,
) -> Result<crate::domain::order::Order, HandlerError> {
    db::get_order(conn, order_id)
        .await
        .map_err(HandlerError::transient)?
        .ok_or_else(|| HandlerError::permanent(format!("no order {order_id}")))
}
