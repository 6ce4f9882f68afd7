use crate::helpers::{TestApp, product_body, spawn_app, spawn_app_with_brokers};
use serde_json::Value;
use shop_events::event::{Event, OrderPlaced, PricedItem};
use shop_testing::PrivateBroker;
use uuid::Uuid;

#[tokio::test]
async fn serves_the_standard_endpoints() {
    let app = spawn_app().await;
    shop_testing::standard::check_standard_endpoints(&app.service).await;
}

#[tokio::test]
async fn readiness_follows_the_database() {
    let app = spawn_app().await;
    shop_testing::standard::check_readiness_follows_database(&app.service, &app.db_proxy).await;
}

#[tokio::test]
async fn the_committed_contract_matches_the_code() {
    shop_testing::standard::check_contract_file(
        &catalog::app::openapi(),
        concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json"),
    );
}

/// An address where nothing listens.
fn closed_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let addr = listener.local_addr().expect("its address");
    drop(listener);
    addr.to_string()
}

impl TestApp {
    /// Events in the outbox that the relay has not published.
    async fn unsent(&self) -> i64 {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM catalog.outbox WHERE sent_at IS NULL")
            .fetch_one(&self.pool)
            .await
            .expect("the outbox")
    }
}

#[tokio::test]
async fn serves_without_the_broker_and_says_it_is_degraded() {
    let app = spawn_app_with_brokers(&closed_port()).await;

    let products = app.get("/v1/products").await;
    assert_eq!(products.status(), 200);
    let page: Value = products.json().await.unwrap();
    assert!(page["total"].as_i64().unwrap() >= 60, "seeded: {page}");
    // Writes work too: their events wait in the outbox.
    app.create_product(&product_body("OD-THM-100")).await;
    assert!(app.unsent().await > 60);

    // Degraded, not unready: Kubernetes keeps the pod in service while events wait.
    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "degraded", "{body}");
    assert_eq!(body["checks"]["database"], "ok", "{body}");
    assert_ne!(
        body["checks"]["broker"], "ok",
        "the broker is named: {body}"
    );
    assert!(body["checks"]["broker"].is_string(), "{body}");
}

#[tokio::test]
async fn catches_up_once_the_broker_is_back() {
    let broker = PrivateBroker::start().await.expect("a broker of its own");
    broker.disconnect();
    let app = spawn_app_with_brokers(&broker.brokers()).await;
    let mug = app.product_with_stock("OD-MUG-100", 10).await;
    assert!(app.unsent().await > 0, "the events wait");

    broker.reconnect();

    // The topics get created, the outbox drains, and orders' events are consumed.
    crate::helpers::eventually("the outbox is published", || async {
        app.unsent().await == 0
    })
    .await;
    let order_id = Uuid::now_v7();
    let placed = app
        .publish(OrderPlaced {
            order_id,
            user_id: Uuid::now_v7(),
            items: vec![PricedItem {
                product_id: mug,
                quantity: 3,
                unit_price_minor: 2990,
            }],
            total: shop_events::event::Money {
                amount_minor: 8970,
                currency: "EUR".into(),
            },
        })
        .await;
    app.wait_until_processed(&[&placed]).await;
    assert_eq!(app.stock_of(mug).await, 7);
    let events = app.catalog_events();
    events
        .wait_for(1, "the decision", |received| {
            matches!(received.event(), Event::StockReserved(e) if e.order_id == order_id)
        })
        .await;
    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "ready", "{body}");
}

#[tokio::test]
async fn a_database_outage_is_a_503_with_retry_after_and_heals_by_itself() {
    let app = spawn_app().await;
    let url = app.service.url("/v1/products");
    shop_testing::standard::check_database_outage_is_a_503(&app.service, &app.db_proxy, || {
        app.service.http.get(&url)
    })
    .await;
}
