//! The saga always ends: an order still `pending` after `ORDER_PENDING_TIMEOUT_MS` is
//! cancelled, with the reason, and announced as `OrderCancelled`.
//!
//! Pending means catalog's decision has not arrived, even though `reconcile` asked again:
//! catalog is down, or cannot read orders' events. Waiting forever would leave the customer with an order that never
//! ends and, perhaps, stock held for it. The cancellation is an ordinary `OrderCancelled`
//! (`was_confirmed: false`), so catalog does what it does for any cancelled order: it gives
//! back a reservation it made, or, if `OrderPlaced` has not reached it yet, remembers the
//! cancellation so that the order can never reserve later (both events share the order's
//! key, hence a partition, hence their order). A late `StockReserved` finds the order
//! settled and changes nothing.
//!
//! The trade-off: a catalog outage longer than the timeout cancels the orders taken
//! meanwhile instead of confirming them late. The default, 10 minutes, outlasts a restart
//! or a rolling deploy by far.

use super::BATCH;
use crate::actions::cancel;
use crate::db;
use crate::error::OrdersError;
use sqlx::PgPool;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Cancels, every `timeout / 10`, the orders pending for longer than `timeout`, until
/// `shutdown`.
pub fn spawn(
    pool: PgPool,
    timeout: Duration,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    // Often enough that an order overstays by a tenth of the timeout at most.
    let interval = (timeout / 10).clamp(Duration::from_millis(100), Duration::from_secs(30));
    tracing::info!(?timeout, "pending orders expire");
    super::every("expiring pending orders", interval, shutdown, move || {
        let pool = pool.clone();
        async move { cancel_overdue(&pool, timeout).await }
    })
}

/// One batch: cancels pending orders older than `timeout`, each announced in the same
/// transaction. Returns how many.
pub async fn cancel_overdue(pool: &PgPool, timeout: Duration) -> Result<usize, OrdersError> {
    let mut tx = pool.begin().await?;
    // Locked and skipped if locked: a settlement or another replica deciding on an order
    // meanwhile wins, and the next round sees what it decided.
    let overdue = db::lock_pending_older_than(&mut tx, timeout, BATCH).await?;
    let reason = format!(
        "not settled within {} s: cancelled, its stock released",
        timeout.as_secs()
    );
    for id in &overdue {
        cancel::expired(&mut tx, *id, &reason).await?;
    }
    tx.commit().await?;
    Ok(overdue.len())
}
