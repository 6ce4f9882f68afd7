//! The reconciler: orders asks catalog again about an order whose answer never came.
//!
//! Every request orders makes of catalog has an answer: `OrderPlaced` gets `StockReserved`
//! or `StockRejected`, `OrderCancelled` gets `StockReleased`. Events are published at least
//! once, but a broker that loses its data (a new cluster, a wiped volume) loses whatever
//! was published and not yet read, and then neither side would hear of it again. The two
//! records would disagree for good: an order pending here though catalog decided (or never
//! heard of it), or an order cancelled here whose stock catalog still holds.
//!
//! So an order still waiting for catalog's answer `after` it last asked is asked about
//! again, in a new envelope: the pending order's `OrderPlaced`, the cancelled order's
//! `OrderCancelled`. Catalog answers a repeat from its records and never takes or returns
//! stock twice (`catalog::db::stock`), and the answer settles the disagreement here
//! (`events::catalog`). Each reminder doubles the wait before the next (up to 32 times
//! `after`), so a catalog that is down is not flooded. Neither service reads the other's
//! database: the events are the only way in, as for everything else.

use super::BATCH;
use crate::db::{self, Awaiting};
use crate::domain::order::OrderStatus;
use crate::events;
use shop_events::{EventsError, outbox};
use sqlx::PgPool;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Asks again, every `after / 4`, about the orders waiting longer than `after` (doubled
/// per reminder) for catalog's answer, until `shutdown`.
pub fn spawn(
    pool: PgPool,
    after: Duration,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let interval = (after / 4).clamp(Duration::from_millis(50), Duration::from_secs(15));
    tracing::info!(?after, "unanswered orders are asked about again");
    super::every("asking catalog again", interval, shutdown, move || {
        let pool = pool.clone();
        async move { ask_again(&pool, after).await }
    })
}

/// One batch: asks catalog again about orders waiting for its answer, each reminder
/// enqueued in the same transaction that records it. Returns how many.
pub async fn ask_again(pool: &PgPool, after: Duration) -> Result<usize, EventsError> {
    let mut tx = pool.begin().await?;
    // Locked and skipped if locked: an answer being applied meanwhile wins.
    let awaiting = db::lock_awaiting_catalog(&mut tx, after, BATCH).await?;
    for Awaiting {
        id,
        status,
        was_confirmed,
    } in &awaiting
    {
        let Some(order) = db::get_order(&mut tx, *id).await? else {
            continue;
        };
        let reminder = match status {
            OrderStatus::Pending => events::placed(&order),
            OrderStatus::Cancelled => events::cancelled(&order, *was_confirmed),
            // Not selected: only these two wait for an answer.
            OrderStatus::Confirmed | OrderStatus::Rejected => continue,
        };
        outbox::enqueue(&mut tx, &reminder).await?;
        db::record_asked_again(&mut tx, *id).await?;
        metrics::counter!("orders_catalog_reminders_total", "status" => status.as_str())
            .increment(1);
        tracing::warn!(order_id = %id, %status, "no answer from catalog: asked again");
    }
    tx.commit().await?;
    Ok(awaiting.len())
}
