//! The catalog's steps of the checkout saga: an order's stock is reserved (all or none)
//! or refused, and a cancelled order's stock comes back. Each runs in the event consumer's
//! transaction, which also marks the event processed; `db::stock` keeps the invariants.

use crate::db;
use crate::domain::stock::{self, Decision, Release, Reservation};
use crate::error::Error;
use crate::events::{self, SOURCE};
use shop_events::event::{Item, OrderPlaced, StockRejected, StockReleased, StockReserved};
use shop_events::{Envelope, outbox};
use sqlx::PgConnection;
use uuid::Uuid;

/// `order` asks for stock: every line is reserved or none, the decision is announced
/// (`StockReserved` / `StockRejected`) with the new stock of the products taken from. An
/// order decided before changes nothing and gets the recorded decision again (orders asks
/// again when it has not heard the answer).
pub async fn reserve(conn: &mut PgConnection, order: &OrderPlaced) -> Result<(), Error> {
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
pub async fn release(conn: &mut PgConnection, order_id: Uuid) -> Result<(), Error> {
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
    events::announce_upserted(conn, &changed).await
}
