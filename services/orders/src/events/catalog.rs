//! What orders does with catalog's events: each is handed to its action.

use crate::actions::settle;
use crate::db;
use crate::error::OrdersError;
use shop_events::event::Event;
use shop_events::stored_version;
use shop_events::{Envelope, Handler, HandlerError};
use sqlx::PgConnection;

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
            Event::StockReserved(reserved) => {
                settle::confirm(conn, reserved.order_id)
                    .await
                    .map_err(handler_error)?;
            }
            Event::StockRejected(rejected) => {
                settle::reject(conn, rejected.order_id, &rejected.reason)
                    .await
                    .map_err(handler_error)?;
            }
            Event::StockReleased(released) => {
                settle::record_release(conn, released.order_id)
                    .await
                    .map_err(handler_error)?;
            }
            Event::ProductUpserted(product) => db::upsert_product(
                conn,
                product.product_id,
                &product.name,
                &product.price.clone().into(),
                stored_version(product.version)?,
            )
            .await
            .map_err(HandlerError::transient)?,
            Event::ProductDeleted(product) => {
                db::mark_product_deleted(
                    conn,
                    product.product_id,
                    stored_version(product.version)?,
                )
                .await
                .map_err(HandlerError::transient)?;
            }
            _ => {}
        }
        Ok(())
    }
}

/// A decision about an order this service does not know is a bug upstream: dead-lettered.
/// Database trouble may pass: retried.
fn handler_error(error: OrdersError) -> HandlerError {
    match error {
        OrdersError::NotFound(order_id) => HandlerError::permanent(format!("no order {order_id}")),
        other => HandlerError::transient(other),
    }
}
