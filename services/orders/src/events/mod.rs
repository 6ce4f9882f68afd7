//! The orders side of the order saga, told as events.
//!
//! Orders announces `OrderPlaced` (when an order is stored), `OrderConfirmed` /
//! `OrderRejected` (when catalog has decided about its stock) and `OrderCancelled`, each in
//! the same transaction as the change, through the outbox. It listens to `catalog.events`:
//! `StockReserved` / `StockRejected` settle a pending order, `StockReleased` says a
//! cancelled order holds no stock any more, and `ProductUpserted` / `ProductDeleted` keep
//! the price replica that new orders are priced from. `saga::reconcile` announces
//! `OrderPlaced` and `OrderCancelled` again when their answer does not come.

mod catalog;

pub use catalog::CatalogEvents;

use crate::domain::order::Order;
use shop_events::Envelope;
use shop_events::event::{Item, OrderCancelled, OrderConfirmed, OrderPlaced, PricedItem};

/// The name orders signs its events with.
pub const SOURCE: &str = "orders";

/// Announces a stored order, pending (in the transaction that stores it), or again when
/// catalog's answer has not come (the reconciler asks once more).
pub fn placed(order: &Order) -> Envelope {
    Envelope::new(
        SOURCE,
        OrderPlaced {
            order_id: order.id,
            user_id: order.user_id,
            items: order
                .items
                .iter()
                .map(|line| PricedItem {
                    product_id: line.product_id,
                    quantity: line.quantity,
                    unit_price_minor: line.unit_price.amount_minor,
                })
                .collect(),
            total: order.total.clone().into(),
        },
    )
}

pub fn confirmed(order: &Order) -> Envelope {
    Envelope::new(
        SOURCE,
        OrderConfirmed {
            order_id: order.id,
            user_id: order.user_id,
            items: items(order),
        },
    )
}

pub fn cancelled(order: &Order, was_confirmed: bool) -> Envelope {
    Envelope::new(
        SOURCE,
        OrderCancelled {
            order_id: order.id,
            user_id: order.user_id,
            items: items(order),
            was_confirmed,
        },
    )
}

fn items(order: &Order) -> Vec<Item> {
    order
        .items
        .iter()
        .map(|line| Item {
            product_id: line.product_id,
            quantity: line.quantity,
        })
        .collect()
}
