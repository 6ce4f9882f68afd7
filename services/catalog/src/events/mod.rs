//! The catalog's side of the event backbone (`shop_events`).
//!
//! **Emits** on `catalog.events`, each event through the outbox in the transaction of the
//! change it announces (never an event without its change, nor a change without its event):
//!
//! - `ProductUpserted`, keyed by product id, with the product's whole current state: when an
//!   admin creates or replaces a product, when the seed inserts one, and when a reservation
//!   or a release changes its stock.
//! - `ProductDeleted`, keyed by product id: when an admin deletes a product.
//! - `StockReserved`, keyed by order id: an `OrderPlaced` got stock for every line.
//! - `StockRejected`, keyed by order id: an `OrderPlaced` did not (products short of stock
//!   or unknown), and nothing was taken. Both are sent again, as recorded, when orders
//!   repeats an `OrderPlaced` whose answer it never heard.
//! - `StockReleased`, keyed by order id: the answer to every `OrderCancelled`; the order
//!   holds no stock any more.
//!
//! **Consumes** `orders.events`, as consumer group `catalog`: `OrderPlaced` reserves stock,
//! `OrderCancelled` releases it (see [`OrderEvents`]). `app::build` declares both on a
//! `shop_events::Backbone`.

mod orders;
mod products;

pub use orders::OrderEvents;
pub use products::{announce_deleted, announce_upserted};

/// The name the catalog signs its events with, and its consumer group.
pub const SOURCE: &str = "catalog";
