//! What the catalog does with orders' events: the stock steps of the checkout saga, each
//! handed to its action (`crate::actions::stock`).

use crate::actions::stock;
use crate::error::Error;
use shop_events::event::Event;
use shop_events::{Envelope, EventsError, Handler, HandlerError};
use sqlx::PgConnection;

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
            Event::OrderPlaced(order) => stock::reserve(conn, order).await,
            Event::OrderCancelled(order) => stock::release(conn, order.order_id).await,
            _ => Ok(()),
        };
        handled.map_err(handler_error)
    }
}

/// Trouble with the database may pass; anything else will happen again on every try.
fn handler_error(error: Error) -> HandlerError {
    match error {
        // A stored value the code cannot read, or an answer the database cannot have
        // given (`db::stock`'s checks): the same on every try.
        Error::Database(error @ (sqlx::Error::Decode(_) | sqlx::Error::Protocol(_))) => {
            HandlerError::permanent(error)
        }
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
