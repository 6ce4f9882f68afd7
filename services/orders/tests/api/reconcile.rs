//! The reconciler (`saga::reconcile`): when a broker loses its data, requests and answers
//! published but not yet read are gone, and orders and catalog disagree about an order.
//! Each test causes that on a private in-memory broker, with a service stopped so that
//! its events stay unread, and checks that the two services come to agree, with stock
//! taken and returned exactly once.

use crate::helpers::{Options, TestApp, eventually, new_key, one_of, spawn_app_with};
use serde_json::Value;
use shop_testing::PrivateBroker;
use sqlx::PgPool;
use std::time::Duration;
use uuid::Uuid;

/// Long enough for the clients to find the new, empty broker: producers time out (10 s) and
/// stuck groups are renewed after two idle checks (5 s apart).
const PATIENCE: Duration = Duration::from_secs(90);

async fn spawn_with_a_broker_of_its_own() -> (TestApp, PrivateBroker) {
    let broker = PrivateBroker::start().await.expect("a broker of our own");
    let app = spawn_app_with(Options {
        brokers: Some(broker.brokers()),
        reconcile_after_ms: Some(1_000),
        ..Options::default()
    })
    .await;
    (app, broker)
}

/// Whether `schema`'s relay has published a `event_type` about `order_id`.
async fn published(pool: &PgPool, schema: &str, event_type: &str, order_id: &str) -> bool {
    // `schema` is one of this file's literals.
    sqlx::query_scalar::<_, bool>(sqlx::AssertSqlSafe(format!(
        "SELECT EXISTS (SELECT FROM {schema}.outbox
                        WHERE key = $1 AND payload->>'type' = $2 AND sent_at IS NOT NULL)"
    )))
    .bind(order_id)
    .bind(event_type)
    .fetch_one(pool)
    .await
    .expect("the outbox")
}

async fn wait_until_published(pool: &PgPool, schema: &str, event_type: &str, order_id: &str) {
    eventually(
        Duration::from_secs(30),
        &format!("{schema} published {event_type} about {order_id}"),
        || published(pool, schema, event_type, order_id),
    )
    .await;
}

/// Waits until orders' price replica knows `product`: orders prices it without catalog.
async fn knows_the_price(pool: &PgPool, product: &Value) {
    let product_id: Uuid = product["id"].as_str().unwrap().parse().unwrap();
    eventually(
        Duration::from_secs(30),
        "orders knows the price",
        || async move {
            sqlx::query_scalar::<_, bool>(
                "SELECT EXISTS (SELECT FROM orders.product_prices WHERE product_id = $1)",
            )
            .bind(product_id)
            .fetch_one(pool)
            .await
            .unwrap()
        },
    )
    .await;
}

/// What catalog recorded for the order, if anything.
async fn reservation(pool: &PgPool, order_id: &str) -> Option<String> {
    sqlx::query_scalar("SELECT status FROM catalog.stock_reservations WHERE order_id = $1")
        .bind(order_id.parse::<Uuid>().expect("a uuid"))
        .fetch_optional(pool)
        .await
        .expect("catalog's reservations")
}

/// How often orders asked catalog again about the order, and whether catalog said its
/// stock is released.
async fn reminders(pool: &PgPool, order_id: &str) -> (i32, bool) {
    sqlx::query_as(
        "SELECT catalog_reminders, stock_released_at IS NOT NULL
         FROM orders.orders WHERE id = $1",
    )
    .bind(order_id.parse::<Uuid>().expect("a uuid"))
    .fetch_one(pool)
    .await
    .expect("the order")
}

/// The requests are lost: catalog is stopped while an order is placed and another is
/// cancelled, and the broker loses both events before catalog is back. Catalog never hears
/// of either; orders asks again, and the order is confirmed, the cancelled one's stock
/// returned.
#[tokio::test]
async fn requests_lost_with_the_broker_are_made_again() {
    let (mut app, mut broker) = spawn_with_a_broker_of_its_own().await;
    let pool = PgPool::connect(&app.db.admin_url()).await.unwrap();
    let customer = app.customer();
    let products = app.products().await;
    let (mug, lamp) = (&products[0], &products[1]);
    let stock = |product: &Value| product["stock"].as_i64().unwrap();
    let id = |order: &Value| order["id"].as_str().unwrap().to_owned();

    let to_cancel: Value = app
        .place(&customer.token, &new_key(), &one_of(&lamp["id"], 1))
        .await
        .json()
        .await
        .unwrap();
    let to_cancel = id(&to_cancel);
    let confirmed = app.settled(&customer.token, &to_cancel).await;
    assert_eq!(confirmed["status"], "confirmed", "{confirmed}");

    knows_the_price(&pool, mug).await;
    app.catalog.stop().await;
    let placed: Value = app
        .place(&customer.token, &new_key(), &one_of(&mug["id"], 2))
        .await
        .json()
        .await
        .unwrap();
    let placed = id(&placed);
    assert_eq!(app.cancel(&customer.token, &to_cancel).await.status(), 200);
    wait_until_published(&pool, "orders", "OrderPlaced", &placed).await;
    wait_until_published(&pool, "orders", "OrderCancelled", &to_cancel).await;
    broker.restart().await.expect("a new, empty broker");
    app.restart_catalog().await;

    let order = app.settled_within(PATIENCE, &customer.token, &placed).await;
    assert_eq!(order["status"], "confirmed", "asked again: {order}");
    eventually(PATIENCE, "the cancelled order's stock released", || {
        let pool = pool.clone();
        let to_cancel = to_cancel.clone();
        async move { reminders(&pool, &to_cancel).await.1 }
    })
    .await;
    assert_eq!(
        reservation(&pool, &to_cancel).await.as_deref(),
        Some("released")
    );
    assert_eq!(
        app.stock_of(mug["id"].as_str().unwrap()).await,
        stock(mug) - 2
    );
    assert_eq!(
        app.stock_of(lamp["id"].as_str().unwrap()).await,
        stock(lamp)
    );
    for order in [&placed, &to_cancel] {
        let (asked_again, _) = reminders(&pool, order).await;
        assert!(asked_again >= 1, "{order}: asked again {asked_again} times");
    }
}

/// The answers are lost: orders is stopped while catalog decides an order and releases a
/// cancelled one, and the broker loses both answers before orders is back. Orders asks
/// again; catalog answers from its records, taking and returning nothing more.
#[tokio::test]
async fn answers_lost_with_the_broker_are_given_again() {
    let (mut app, mut broker) = spawn_with_a_broker_of_its_own().await;
    let pool = PgPool::connect(&app.db.admin_url()).await.unwrap();
    let customer = app.customer();
    let products = app.products().await;
    let (mug, lamp) = (&products[0], &products[1]);
    let stock = |product: &Value| product["stock"].as_i64().unwrap();
    let id = |order: &Value| order["id"].as_str().unwrap().to_owned();

    let to_cancel: Value = app
        .place(&customer.token, &new_key(), &one_of(&lamp["id"], 1))
        .await
        .json()
        .await
        .unwrap();
    let to_cancel = id(&to_cancel);
    let confirmed = app.settled(&customer.token, &to_cancel).await;
    assert_eq!(confirmed["status"], "confirmed", "{confirmed}");

    // Catalog is away while orders asks; orders is away while catalog answers.
    knows_the_price(&pool, mug).await;
    app.catalog.stop().await;
    let placed: Value = app
        .place(&customer.token, &new_key(), &one_of(&mug["id"], 2))
        .await
        .json()
        .await
        .unwrap();
    let placed = id(&placed);
    assert_eq!(app.cancel(&customer.token, &to_cancel).await.status(), 200);
    wait_until_published(&pool, "orders", "OrderPlaced", &placed).await;
    wait_until_published(&pool, "orders", "OrderCancelled", &to_cancel).await;
    app.service.stop().await;
    app.restart_catalog().await;
    wait_until_published(&pool, "catalog", "StockReserved", &placed).await;
    wait_until_published(&pool, "catalog", "StockReleased", &to_cancel).await;
    broker.restart().await.expect("a new, empty broker");
    app.restart_orders().await;

    let order = app.settled_within(PATIENCE, &customer.token, &placed).await;
    assert_eq!(order["status"], "confirmed", "answered again: {order}");
    eventually(PATIENCE, "catalog's release recorded", || {
        let pool = pool.clone();
        let to_cancel = to_cancel.clone();
        async move { reminders(&pool, &to_cancel).await.1 }
    })
    .await;
    assert_eq!(
        app.stock_of(mug["id"].as_str().unwrap()).await,
        stock(mug) - 2
    );
    assert_eq!(
        app.stock_of(lamp["id"].as_str().unwrap()).await,
        stock(lamp)
    );
    for order in [&placed, &to_cancel] {
        let (asked_again, _) = reminders(&pool, order).await;
        assert!(asked_again >= 1, "{order}: asked again {asked_again} times");
    }
}
