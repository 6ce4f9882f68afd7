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

/// Two requests of orders that catalog has not read: a new order (`placed`, 2 mugs) and
/// the cancellation of a confirmed one (`cancelled`, 1 lamp), made while catalog is
/// stopped; and what the stock was before either.
struct Unread {
    app: TestApp,
    broker: PrivateBroker,
    pool: PgPool,
    token: String,
    placed: String,
    cancelled: String,
    mug: (String, i64),
    lamp: (String, i64),
}

impl Unread {
    async fn make() -> Self {
        let (mut app, broker) = spawn_with_a_broker_of_its_own().await;
        let pool = PgPool::connect(&app.db.admin_url()).await.unwrap();
        let token = app.customer().token;
        let products = app.products().await;
        let stock = |product: &Value| {
            let id = product["id"].as_str().unwrap().to_owned();
            (id, product["stock"].as_i64().unwrap())
        };
        let (mug, lamp) = (stock(&products[0]), stock(&products[1]));
        let place = async |app: &TestApp, product: &str, quantity: u32| -> String {
            let order: Value = app
                .place(&token, &new_key(), &one_of(&Value::from(product), quantity))
                .await
                .json()
                .await
                .unwrap();
            order["id"].as_str().unwrap().to_owned()
        };

        let cancelled = place(&app, &lamp.0, 1).await;
        let confirmed = app.settled(&token, &cancelled).await;
        assert_eq!(confirmed["status"], "confirmed", "{confirmed}");
        knows_the_price(&pool, &products[0]).await;
        app.catalog.stop().await;
        let placed = place(&app, &mug.0, 2).await;
        assert_eq!(app.cancel(&token, &cancelled).await.status(), 200);
        wait_until_published(&pool, "orders", "OrderPlaced", &placed).await;
        wait_until_published(&pool, "orders", "OrderCancelled", &cancelled).await;
        Self {
            app,
            broker,
            pool,
            token,
            placed,
            cancelled,
            mug,
            lamp,
        }
    }

    /// The two services agree again: the order confirmed with 2 mugs taken once, the
    /// cancelled order's lamp back once and its release recorded, each asked about again.
    async fn assert_agreed(&self) {
        let order = self
            .app
            .settled_within(PATIENCE, &self.token, &self.placed)
            .await;
        assert_eq!(order["status"], "confirmed", "{order}");
        eventually(
            PATIENCE,
            "the cancelled order's release recorded",
            || async { reminders(&self.pool, &self.cancelled).await.1 },
        )
        .await;
        assert_eq!(
            reservation(&self.pool, &self.cancelled).await.as_deref(),
            Some("released")
        );
        assert_eq!(self.app.stock_of(&self.mug.0).await, self.mug.1 - 2);
        assert_eq!(self.app.stock_of(&self.lamp.0).await, self.lamp.1);
        for order in [&self.placed, &self.cancelled] {
            let (asked_again, _) = reminders(&self.pool, order).await;
            assert!(asked_again >= 1, "{order}: asked again {asked_again} times");
        }
    }
}

/// The requests are lost: the broker loses both before catalog is back. Catalog never
/// hears of either; orders asks again, the order is confirmed, the lamp comes back.
#[tokio::test]
async fn requests_lost_with_the_broker_are_made_again() {
    let mut unread = Unread::make().await;
    unread.broker.restart().await.expect("a new, empty broker");
    unread.app.restart_catalog().await;
    unread.assert_agreed().await;
}

/// The answers are lost: orders is stopped while catalog decides the order and releases
/// the cancelled one, and the broker loses both answers before orders is back. Orders asks
/// again; catalog answers from its records, taking and returning nothing more.
#[tokio::test]
async fn answers_lost_with_the_broker_are_given_again() {
    let mut unread = Unread::make().await;
    unread.app.service.stop().await;
    unread.app.restart_catalog().await;
    let pool = &unread.pool;
    wait_until_published(pool, "catalog", "StockReserved", &unread.placed).await;
    wait_until_published(pool, "catalog", "StockReleased", &unread.cancelled).await;
    unread.broker.restart().await.expect("a new, empty broker");
    unread.app.restart_orders().await;
    unread.assert_agreed().await;
}
