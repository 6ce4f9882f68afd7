//! What keeps the order saga moving when its events fail it.
//!
//! The saga itself is told in events (`events`): orders asks catalog (`OrderPlaced`,
//! `OrderCancelled`) and catalog answers (`StockReserved` / `StockRejected`,
//! `StockReleased`). Two background tasks watch over it, each a loop of small
//! transactions over the orders table:
//!
//! - [`reconcile`] asks catalog again about an order whose answer never came (an event
//!   lost with a broker's data), so that both services end up agreeing;
//! - [`expiry`] ends an order still pending after `ORDER_PENDING_TIMEOUT_MS`, whatever
//!   happened to it, so that every accepted order reaches a final status.

pub mod expiry;
pub mod reconcile;

use std::future::Future;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Rows handled per transaction: a backlog is worked off in bounded steps.
const BATCH: i64 = 100;

/// Runs `round` every `interval` until `shutdown`, again at once while it handles a full
/// batch. A failed round is logged and tried at the next tick.
fn every<F, Fut, E>(
    what: &'static str,
    interval: Duration,
    shutdown: CancellationToken,
    mut round: F,
) -> tokio::task::JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Result<usize, E>> + Send,
    E: std::fmt::Display,
{
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(interval) => {}
            }
            loop {
                match round().await {
                    Ok(n) if n == BATCH as usize => continue,
                    Ok(_) => break,
                    Err(error) => {
                        tracing::warn!(%error, "{what} failed; trying again later");
                        break;
                    }
                }
            }
        }
    })
}
