//! The catalog's state changes, one file each: the one home of every business flow.
//!
//! An action makes one change from start to finish. It opens the transaction (or runs in
//! the event consumer's), asks `domain` what to do, reads and writes through `db`, enqueues
//! the events that announce the change (`events::announce_*`, through the outbox), and
//! commits: the change and its events together or neither. `routes` and `events` only
//! translate HTTP and orders' events into action calls.
//!
//! - [`products`]: an admin creates, replaces or deletes a product (`ProductUpserted`,
//!   `ProductDeleted`).
//! - [`stock`]: an order reserves stock or is refused, a cancelled order gives it back
//!   (`StockReserved`, `StockRejected`, `StockReleased`, and the new stock).

pub mod products;
pub mod stock;
