//! What the catalog does with orders' events: the stock steps of the checkout saga.

use super::{SOURCE, products};
use crate::db;
use crate::domain::stock::{self, Decision, Release};
use crate::error::Error;
use shop_events::event::{Event, Item, OrderPlaced, StockRejected, StockReserved};
use shop_events::{Envelope, EventsError, Handler, HandlerError, outbox};
use sqlx::PgConnection;
use uuid::Uuid;

/// The handler of `orders.events`. Each event is handled in the consumer's transaction, so a
/// decision, its announcement and the event's "processed" mark commit together.
///
/// - `OrderPlaced` reserves every line or none, and announces the decision (`StockReserved`
///   or `StockRejected`) and the new stock of the products it took from (`ProductUpserted`).
///   An order decided before (the same order in a new envelope) changes and announces
///   nothing: its decision went out when it was made. Exact redeliveries never get here:
///   the consumer skips events it has processed.
/// - `OrderCancelled` gives back the stock the order holds, if any, once, and announces the
///   new stock. A cancellation that comes first is recorded: its order cannot reserve later.
/// - Other events are not the catalog's business.
///
/// Database trouble is transient (retried). An order that breaks the contract (no lines, a
/// product twice, a quantity of 0) is permanent: it is dead-lettered for someone to look
/// at, and the order stays pending.
#[derive(Debug, Clone, Copy, Default)]
pub struct OrderEvents;

impl Handler for OrderEvents {
    async fn handle(
        &self,
        conn: &mut PgConnection,
        envelope: &Envelope,
    ) -> Result<(), HandlerError> {
        let handled = match &envelope.event {
            Event::OrderPlaced(order) => reserve(conn, order).await,
            Event::OrderCancelled(order) => release(conn, order.order_id).await,
            _ => Ok(()),
        };
        handled.map_err(handler_error)
    }
}

async fn reserve(conn: &mut PgConnection, order: &OrderPlaced) -> Result<(), Error> {
    let order_id = order.order_id;
    let lines = stock::reservation_lines(
        order
            .items
            .iter()
            .map(|item| (item.product_id, item.quantity)),
    )
    .map_err(Error::Invalid)?;
    let Some(decision) = db::stock::reserve(conn, order_id, &lines).await? else {
        tracing::info!(%order_id, "order decided before: nothing to do");
        return Ok(());
    };
    match decision {
        Decision::Reserved => {
            let reserved = StockReserved {
                order_id,
                items: order
                    .items
                    .iter()
                    .map(|item| Item {
                        product_id: item.product_id,
                        quantity: item.quantity,
                    })
                    .collect(),
            };
            outbox::enqueue(conn, &Envelope::new(SOURCE, reserved)).await?;
            let taken: Vec<Uuid> = lines.iter().map(|line| line.product_id).collect();
            announce_stock(conn, &taken).await?;
            tracing::info!(%order_id, "stock reserved");
        }
        Decision::Rejected(rejection) => {
            let rejected = StockRejected {
                order_id,
                reason: rejection.reason().to_owned(),
                product_ids: rejection.product_ids(),
            };
            outbox::enqueue(conn, &Envelope::new(SOURCE, rejected)).await?;
            tracing::info!(%order_id, reason = rejection.reason(), "stock rejected");
        }
    }
    Ok(())
}

async fn release(conn: &mut PgConnection, order_id: Uuid) -> Result<(), Error> {
    match db::stock::release(conn, order_id).await? {
        Release::Returned { product_ids } => {
            announce_stock(conn, &product_ids).await?;
            tracing::info!(%order_id, "stock released");
        }
        Release::NothingHeld => tracing::info!(%order_id, "no stock held: nothing to release"),
    }
    Ok(())
}

/// Announces the current state of products whose stock changed.
async fn announce_stock(conn: &mut PgConnection, product_ids: &[Uuid]) -> Result<(), Error> {
    let changed = db::products::find_many(&mut *conn, product_ids).await?;
    products::announce_upserted(conn, &changed).await
}

/// Trouble with the database may pass; anything else will happen again on every try.
fn handler_error(error: Error) -> HandlerError {
    match error {
        Error::Database(error) | Error::Outbox(EventsError::Database(error)) => {
            HandlerError::transient(error)
        }
        Error::Invalid(fields) => {
            let fields: Vec<String> = fields
                .iter()
                .map(|invalid| format!("{} {}", invalid.field, invalid.message))
                .collect();
            HandlerError::permanent(format!(
                "the order cannot be reserved as sent: {}",
                fields.join("; ")
            ))
        }
        other => HandlerError::permanent(other),
    }
}
