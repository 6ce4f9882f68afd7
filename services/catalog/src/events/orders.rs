//! What the catalog does with orders' events: the stock steps of the checkout saga.

use super::{SOURCE, products};
use crate::db;
use crate::domain::stock::{self, Decision, Release, Reservation};
use crate::error::Error;
use shop_events::event::{Event, Item, OrderPlaced, StockRejected, StockReleased, StockReserved};
use shop_events::{Envelope, EventsError, Handler, HandlerError, outbox};
use sqlx::PgConnection;
use uuid::Uuid;

/// The handler of `orders.events`. Each event is handled in the consumer's transaction, so a
/// decision, its announcement and the event's "processed" mark commit together.
///
/// - `OrderPlaced` reserves every line or none, and announces the decision (`StockReserved`
///   or `StockRejected`) and the new stock of the products it took from (`ProductUpserted`).
///   An order decided before (the same order in a new envelope: orders asking again, see
///   its `reconcile`) changes nothing and gets the recorded decision again. Exact
///   redeliveries never get here: the consumer skips events it has processed.
/// - `OrderCancelled` gives back the stock the order holds, if any, once, announces the new
///   stock, and answers `StockReleased` (every time). A cancellation that comes first is
///   recorded: its order cannot reserve later.
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
    match db::stock::reserve(conn, order_id, &lines).await? {
        Reservation::Decided(decision) => {
            answer(conn, order, &decision).await?;
            if decision == Decision::Reserved {
                let taken: Vec<Uuid> = lines.iter().map(|line| line.product_id).collect();
                announce_stock(conn, &taken).await?;
            }
            tracing::info!(%order_id, ?decision, "stock decided");
        }
        Reservation::DecidedBefore(decision) => {
            // Orders asks again when it has not heard the answer: it may have been lost.
            answer(conn, order, &decision).await?;
            tracing::info!(%order_id, ?decision, "order decided before: answered again");
        }
        Reservation::Released => {
            tracing::info!(%order_id, "order cancelled before: nothing to decide");
        }
    }
    Ok(())
}

/// Announces the decision about `order`: `StockReserved` or `StockRejected`.
async fn answer(
    conn: &mut PgConnection,
    order: &OrderPlaced,
    decision: &Decision,
) -> Result<(), Error> {
    let order_id = order.order_id;
    let answer = match decision {
        Decision::Reserved => Envelope::new(
            SOURCE,
            StockReserved {
                order_id,
                items: order
                    .items
                    .iter()
                    .map(|item| Item {
                        product_id: item.product_id,
                        quantity: item.quantity,
                    })
                    .collect(),
            },
        ),
        Decision::Rejected(rejection) => Envelope::new(
            SOURCE,
            StockRejected {
                order_id,
                reason: rejection.reason().to_owned(),
                product_ids: rejection.product_ids(),
            },
        ),
    };
    outbox::enqueue(conn, &answer).await?;
    Ok(())
}

/// Gives back what the order holds, if anything, and says so (`StockReleased`) every time,
/// a repeated cancellation included: that is how orders knows the cancellation arrived.
async fn release(conn: &mut PgConnection, order_id: Uuid) -> Result<(), Error> {
    let product_ids = match db::stock::release(conn, order_id).await? {
        Release::Returned { product_ids } => {
            announce_stock(conn, &product_ids).await?;
            tracing::info!(%order_id, "stock released");
            product_ids
        }
        Release::NothingHeld => {
            tracing::info!(%order_id, "no stock held: nothing to release");
            Vec::new()
        }
    };
    let released = StockReleased {
        order_id,
        product_ids,
    };
    outbox::enqueue(conn, &Envelope::new(SOURCE, released)).await?;
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
