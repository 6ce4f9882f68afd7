//! The catalog's side of the order saga, end to end: orders' events published on the broker,
//! the catalog's decisions read back from `catalog.events`.

use crate::helpers::{Received, TestApp, read_raw, spawn_app};
use rdkafka::message::{Headers, Message};
use shop_events::event::{
    Event, Item, Money, OrderCancelled, OrderConfirmed, OrderPlaced, PricedItem, StockRejected,
    StockReleased, StockReserved,
};
use shop_events::{Envelope, topics};
use std::collections::HashSet;
use std::time::Duration;
use uuid::Uuid;

fn order_placed(order_id: Uuid, items: &[(Uuid, u32)]) -> OrderPlaced {
    OrderPlaced {
        order_id,
        user_id: Uuid::now_v7(),
        items: items
            .iter()
            .map(|&(product_id, quantity)| PricedItem {
                product_id,
                quantity,
                unit_price_minor: 2990,
            })
            .collect(),
        total: Money {
            amount_minor: 2990,
            currency: "EUR".into(),
        },
    }
}

fn order_cancelled(order_id: Uuid, items: &[(Uuid, u32)]) -> OrderCancelled {
    OrderCancelled {
        order_id,
        user_id: Uuid::now_v7(),
        items: items
            .iter()
            .map(|&(product_id, quantity)| Item {
                product_id,
                quantity,
            })
            .collect(),
        was_confirmed: true,
    }
}

/// Whether `event` is the catalog's decision about `order_id`.
fn is_decision_about(event: &Event, order_id: Uuid) -> bool {
    match event {
        Event::StockReserved(e) => e.order_id == order_id,
        Event::StockRejected(e) => e.order_id == order_id,
        _ => false,
    }
}

fn decision_about(order_id: Uuid) -> impl Fn(&Received) -> bool {
    move |received| is_decision_about(received.event(), order_id)
}

/// Whether a message announces `product_id` with `stock` units.
fn stock_announced(product_id: Uuid, stock: u32) -> impl Fn(&Received) -> bool {
    move |received| matches!(received.event(), Event::ProductUpserted(e) if e.product_id == product_id && e.stock == stock)
}

impl TestApp {
    /// The decisions about `order_id` in the outbox: all that will ever be published.
    async fn decisions_about(&self, order_id: Uuid) -> usize {
        self.outbox()
            .await
            .iter()
            .filter(|envelope| is_decision_about(&envelope.event, order_id))
            .count()
    }
}

#[tokio::test]
async fn an_order_with_stock_is_reserved_and_announced() {
    let app = spawn_app().await;
    let events = app.catalog_events();
    let mug = app.product_with_stock("OD-MUG-100", 10).await;
    let lamp = app.product_with_stock("OD-LMP-100", 3).await;
    let order_id = Uuid::now_v7();

    app.publish(order_placed(order_id, &[(mug, 4), (lamp, 3)]))
        .await;

    let decision = events
        .wait_for(1, "decisions", decision_about(order_id))
        .await
        .remove(0);
    assert_eq!(decision.key, order_id.to_string(), "keyed by order");
    assert_eq!(decision.envelope.source, "catalog");
    assert_eq!(
        decision.event(),
        &Event::StockReserved(StockReserved {
            order_id,
            items: vec![
                Item {
                    product_id: mug,
                    quantity: 4
                },
                Item {
                    product_id: lamp,
                    quantity: 3
                },
            ],
        })
    );
    assert_eq!((app.stock_of(mug).await, app.stock_of(lamp).await), (6, 0));
    // The new stock is announced too, keyed by product.
    let announced = events
        .wait_for(1, "stock announcements", stock_announced(mug, 6))
        .await;
    assert_eq!(announced[0].key, mug.to_string());
    events
        .wait_for(1, "stock announcements", stock_announced(lamp, 0))
        .await;
}

#[tokio::test]
async fn an_order_short_of_stock_is_rejected_and_nothing_is_taken() {
    let app = spawn_app().await;
    let events = app.catalog_events();
    let mug = app.product_with_stock("OD-MUG-100", 10).await;
    let lamp = app.product_with_stock("OD-LMP-100", 2).await;
    let order_id = Uuid::now_v7();

    app.publish(order_placed(order_id, &[(mug, 4), (lamp, 3)]))
        .await;

    let decision = events
        .wait_for(1, "decisions", decision_about(order_id))
        .await
        .remove(0);
    assert_eq!(decision.key, order_id.to_string());
    assert_eq!(
        decision.event(),
        &Event::StockRejected(StockRejected {
            order_id,
            reason: "insufficient stock".into(),
            product_ids: vec![lamp],
        })
    );
    assert_eq!((app.stock_of(mug).await, app.stock_of(lamp).await), (10, 2));
}

#[tokio::test]
async fn an_order_for_an_unknown_product_is_rejected_naming_it() {
    let app = spawn_app().await;
    let events = app.catalog_events();
    let mug = app.product_with_stock("OD-MUG-100", 10).await;
    let (order_id, gone) = (Uuid::now_v7(), Uuid::now_v7());

    app.publish(order_placed(order_id, &[(mug, 1), (gone, 1)]))
        .await;

    let decision = events
        .wait_for(1, "decisions", decision_about(order_id))
        .await
        .remove(0);
    assert_eq!(
        decision.event(),
        &Event::StockRejected(StockRejected {
            order_id,
            reason: "unknown products".into(),
            product_ids: vec![gone],
        })
    );
    assert_eq!(app.stock_of(mug).await, 10);
}

/// The decisions about `order_id` in the outbox, in order.
fn decisions_in(outbox: &[Envelope], order_id: Uuid) -> Vec<Event> {
    outbox
        .iter()
        .filter(|envelope| is_decision_about(&envelope.event, order_id))
        .map(|envelope| envelope.event.clone())
        .collect()
}

/// The `StockReleased` answers about `order_id` in the outbox.
fn releases_in(outbox: &[Envelope], order_id: Uuid) -> Vec<StockReleased> {
    outbox
        .iter()
        .filter_map(|envelope| match &envelope.event {
            Event::StockReleased(e) if e.order_id == order_id => Some(e.clone()),
            _ => None,
        })
        .collect()
}

/// An exact redelivery is skipped; the same order in a new envelope (orders asking again,
/// its answer lost) takes nothing more and gets the recorded answer again.
#[tokio::test]
async fn the_same_order_placed_again_is_decided_once_and_answered_again() {
    let app = spawn_app().await;
    let mug = app.product_with_stock("OD-MUG-100", 10).await;
    let lamp = app.product_with_stock("OD-LMP-100", 1).await;
    let order_id = Uuid::now_v7();
    let placed = order_placed(order_id, &[(mug, 4)]);
    let short_order_id = Uuid::now_v7();
    let short = order_placed(short_order_id, &[(lamp, 2)]);

    let first = app.publish(placed.clone()).await;
    let first_short = app.publish(short.clone()).await;
    app.publish_envelope(&first).await;
    app.wait_until_processed(&[&first, &first_short]).await;
    // Restocked meanwhile: the rejection stands all the same.
    sqlx::query("UPDATE catalog.products SET stock = 50 WHERE id = $1")
        .bind(lamp)
        .execute(&app.pool)
        .await
        .unwrap();
    let again = app.publish(placed).await;
    let again_short = app.publish(short).await;
    app.wait_until_processed(&[&again, &again_short]).await;

    assert_eq!((app.stock_of(mug).await, app.stock_of(lamp).await), (6, 50));
    let outbox = app.outbox().await;
    let reserved = decisions_in(&outbox, order_id);
    assert_eq!(reserved.len(), 2, "answered twice: {reserved:?}");
    assert_eq!(reserved[0], reserved[1], "the same answer");
    assert!(matches!(reserved[0], Event::StockReserved(_)));
    let rejected = decisions_in(&outbox, short_order_id);
    assert_eq!(rejected.len(), 2, "answered twice: {rejected:?}");
    assert_eq!(rejected[0], rejected[1], "the same answer");
    assert!(matches!(rejected[0], Event::StockRejected(_)));
}

#[tokio::test]
async fn a_cancelled_order_gets_its_stock_back_once() {
    let app = spawn_app().await;
    let events = app.catalog_events();
    let mug = app.product_with_stock("OD-MUG-100", 10).await;
    let order_id = Uuid::now_v7();
    let items = [(mug, 4)];
    app.publish(order_placed(order_id, &items)).await;
    events
        .wait_for(1, "decisions", decision_about(order_id))
        .await;
    assert_eq!(app.stock_of(mug).await, 6);

    let cancelled = app.publish(order_cancelled(order_id, &items)).await;
    // Delivered twice, then the same cancellation in a new envelope.
    app.publish_envelope(&cancelled).await;
    let again = app.publish(order_cancelled(order_id, &items)).await;
    app.wait_until_processed(&[&cancelled, &again]).await;

    assert_eq!(app.stock_of(mug).await, 10, "returned once");
    // Each cancellation processed is answered, so that orders knows it arrived.
    let releases = releases_in(&app.outbox().await, order_id);
    assert_eq!(
        releases,
        [
            StockReleased {
                order_id,
                product_ids: vec![mug]
            },
            StockReleased {
                order_id,
                product_ids: vec![]
            }
        ]
    );
    // The returned stock is announced, once: after the creation and the reservation.
    events
        .wait_for(1, "stock announcements", stock_announced(mug, 10))
        .await;
    let announced: Vec<u32> = app
        .outbox()
        .await
        .into_iter()
        .filter_map(|envelope| match envelope.event {
            Event::ProductUpserted(e) if e.product_id == mug => Some(e.stock),
            _ => None,
        })
        .collect();
    assert_eq!(announced, [10, 6, 10]);
}

#[tokio::test]
async fn a_cancellation_that_comes_first_blocks_the_late_order() {
    let app = spawn_app().await;
    let mug = app.product_with_stock("OD-MUG-100", 10).await;
    let order_id = Uuid::now_v7();

    let cancelled = app.publish(order_cancelled(order_id, &[(mug, 4)])).await;
    let placed = app.publish(order_placed(order_id, &[(mug, 4)])).await;
    app.wait_until_processed(&[&cancelled, &placed]).await;

    assert_eq!(app.stock_of(mug).await, 10);
    assert_eq!(
        app.decisions_about(order_id).await,
        0,
        "orders knows it cancelled: nothing to announce"
    );
    let releases = releases_in(&app.outbox().await, order_id);
    assert_eq!(
        releases,
        [StockReleased {
            order_id,
            product_ids: vec![]
        }],
        "the cancellation is answered"
    );
}

#[tokio::test]
async fn other_events_change_nothing() {
    let app = spawn_app().await;
    let mug = app.product_with_stock("OD-MUG-100", 10).await;
    let outbox_before = app.outbox().await.len();

    let confirmed = app
        .publish(OrderConfirmed {
            order_id: Uuid::now_v7(),
            user_id: Uuid::now_v7(),
            items: vec![Item {
                product_id: mug,
                quantity: 4,
            }],
        })
        .await;
    app.wait_until_processed(&[&confirmed]).await;

    assert_eq!(app.stock_of(mug).await, 10);
    assert_eq!(app.outbox().await.len(), outbox_before);
}

#[tokio::test]
async fn an_order_that_breaks_the_contract_is_dead_lettered() {
    let app = spawn_app().await;
    let mug = app.product_with_stock("OD-MUG-100", 10).await;
    let order_id = Uuid::now_v7();

    let broken = app
        .publish(order_placed(order_id, &[(mug, 0), (mug, 1)]))
        .await;
    // After it on the same partition: once this one is handled, the broken one was too.
    let next = app.publish(order_cancelled(order_id, &[])).await;
    app.wait_until_processed(&[&next]).await;

    let dead = read_raw(&app.kafka, &app.kafka.dlq_topic(topics::ORDERS), 1)
        .await
        .remove(0);
    assert_eq!(
        dead.key().map(<[u8]>::to_vec),
        Some(order_id.to_string().into_bytes())
    );
    let error = dead
        .headers()
        .and_then(|headers| headers.iter().find(|h| h.key == "error"))
        .and_then(|header| header.value)
        .map(|value| String::from_utf8_lossy(value).into_owned())
        .expect("an error header");
    assert!(
        error.contains("items[0].quantity") && error.contains("items[1].product_id"),
        "{error}"
    );
    assert!(
        !app.processed(broken.id).await,
        "not processed: dead-lettered"
    );
    assert_eq!(app.stock_of(mug).await, 10);
    assert_eq!(app.decisions_about(order_id).await, 0);
}

#[tokio::test]
async fn fifty_orders_for_ten_units_reserve_exactly_ten() {
    let app = spawn_app().await;
    // Two replicas share the orders' partitions, and decide concurrently. Each holds some
    // before anything is published: no decision waits for a rebalance.
    let replica = app.replica().await;
    for instance in [&app.service, &replica] {
        instance.wait_until_ready(Duration::from_secs(60)).await;
    }
    let events = app.catalog_events();
    let mug = app.product_with_stock("OD-MUG-100", 10).await;
    let order_ids: Vec<Uuid> = (0..50).map(|_| Uuid::now_v7()).collect();

    let placing = order_ids
        .iter()
        .map(|&order_id| app.publish(order_placed(order_id, &[(mug, 1)])));
    futures::future::join_all(placing).await;

    let orders: HashSet<Uuid> = order_ids.iter().copied().collect();
    let decisions = events
        .wait_for(50, "decisions", |received| {
            order_ids
                .iter()
                .any(|&order_id| decision_about(order_id)(received))
        })
        .await;
    let reserved: HashSet<Uuid> = decisions
        .iter()
        .filter_map(|received| match received.event() {
            Event::StockReserved(e) => Some(e.order_id),
            _ => None,
        })
        .collect();
    let rejected: HashSet<Uuid> = decisions
        .iter()
        .filter_map(|received| match received.event() {
            Event::StockRejected(e) => Some(e.order_id),
            _ => None,
        })
        .collect();
    assert_eq!((reserved.len(), rejected.len()), (10, 40));
    assert!(reserved.is_disjoint(&rejected));
    assert_eq!(&reserved | &rejected, orders, "one decision per order");
    assert_eq!(app.stock_of(mug).await, 0);
    // Exactly one each: the outbox holds everything that will ever be published.
    let outbox = app.outbox().await;
    let announced = outbox
        .iter()
        .filter(|envelope| {
            orders
                .iter()
                .any(|&order_id| is_decision_about(&envelope.event, order_id))
        })
        .count();
    assert_eq!(announced, 50);
}

/// The draft an admin's form sends for `product` as read, with a new name.
fn renamed(product: &serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "sku": product["sku"],
        "name": "Harbour Mug, renamed",
        "description": product["description"],
        "category_slug": product["category"]["slug"],
        "price": product["price"],
        "stock": product["stock"],
        "image_url": product["image_url"],
    })
}

/// An admin's edit made on a read from before an order reserved stock is refused, so the
/// reservation is not overwritten (the oversell it would allow); read again, it goes through.
#[tokio::test]
async fn an_admin_edit_from_before_a_reservation_cannot_overwrite_it() {
    let app = spawn_app().await;
    let events = app.catalog_events();
    let mug = app.product_with_stock("OD-MUG-100", 10).await;
    let path = format!("/v1/products/{mug}");
    let read = app.get(&path).await;
    let stale = read.headers()["etag"].to_str().unwrap().to_owned();
    let edit = renamed(&read.json().await.unwrap());

    // Meanwhile an order takes 4.
    let order_id = Uuid::now_v7();
    app.publish(order_placed(order_id, &[(mug, 4)])).await;
    events
        .wait_for(1, "decisions", decision_about(order_id))
        .await;
    assert_eq!(app.stock_of(mug).await, 6);

    // Written from the stale read, the edit would put the stock back to 10.
    let refused = app
        .replace_if_match(&path, Some(&app.admin_token()), &stale, &edit)
        .await;
    assert_eq!(refused.status(), 412);
    let problem: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(problem["type"], "/problems/edit-conflict");
    assert_eq!(app.stock_of(mug).await, 6, "the reservation stands");

    // Read again, edited again: the stock the edit carries is the current one.
    let edit = renamed(&app.get(&path).await.json().await.unwrap());
    let replaced = app.replace(&path, Some(&app.admin_token()), &edit).await;
    assert_eq!(replaced.status(), 200);
    let new_version = replaced.headers()["etag"].to_str().unwrap().to_owned();
    let product: serde_json::Value = replaced.json().await.unwrap();
    assert_eq!(
        (product["name"].as_str(), product["stock"].as_i64()),
        (Some("Harbour Mug, renamed"), Some(6))
    );
    assert_eq!(
        app.get(&path).await.headers()["etag"].to_str().unwrap(),
        new_version,
        "the ETag answered is the one a read then gets"
    );
}
