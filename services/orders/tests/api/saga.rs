//! The order saga over Kafka, end to end: orders and catalog (and recommendations) running
//! against the real broker, nothing in between.

use crate::helpers::{Options, TestApp, eventually, new_key, one_of, spawn_app, spawn_app_with};
use serde_json::{Value, json};
use shop_server::{Env, ServerConfig};
use shop_testing::{PrivateBroker, RunningService};
use std::time::Duration;

/// Sets a product's stock through catalog's admin API, and returns the product.
async fn restock(app: &TestApp, product: &Value, stock: i64) -> Value {
    let body = json!({
        "sku": product["sku"],
        "name": product["name"],
        "description": product["description"],
        "category_slug": product["category"]["slug"],
        "price": product["price"],
        "stock": stock,
        "image_url": product["image_url"],
    });
    let path = format!("/v1/products/{}", product["id"].as_str().unwrap());
    // The version replaced: catalog refuses an edit that could overwrite a reservation.
    let read = app.catalog.get(&path).await;
    let version = read.headers()["etag"].to_str().unwrap().to_owned();
    let response = app
        .catalog
        .http
        .put(app.catalog.url(&path))
        .bearer_auth(app.admin_token())
        .header("if-match", version)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

#[tokio::test]
async fn fifty_concurrent_orders_for_ten_in_stock_confirm_exactly_ten() {
    let app = spawn_app().await;
    let product = app.products().await[0].clone();
    let product = restock(&app, &product, 10).await;
    let id = product["id"].as_str().unwrap().to_owned();

    let customers: Vec<_> = (0..50).map(|_| app.customer()).collect();
    let body = one_of(&product["id"], 1);
    let keys: Vec<String> = customers.iter().map(|_| new_key()).collect();
    let placed = futures::future::join_all(
        customers
            .iter()
            .zip(&keys)
            .map(|(customer, key)| app.place(&customer.token, key, &body)),
    )
    .await;
    let mut orders = Vec::new();
    for (customer, response) in customers.iter().zip(placed) {
        assert_eq!(response.status(), 202);
        let order: Value = response.json().await.unwrap();
        orders.push((customer, order["id"].as_str().unwrap().to_owned()));
    }

    let mut confirmed = 0;
    let mut rejected = 0;
    for (customer, order_id) in &orders {
        match app.settled(&customer.token, order_id).await["status"].as_str() {
            Some("confirmed") => confirmed += 1,
            Some("rejected") => rejected += 1,
            other => panic!("order {order_id} did not settle: {other:?}"),
        }
    }
    assert_eq!((confirmed, rejected), (10, 40));
    assert_eq!(app.stock_of(&id).await, 0, "sold out, never below zero");
}

#[tokio::test]
async fn orders_placed_while_the_broker_is_down_all_settle_when_it_returns() {
    let broker = PrivateBroker::start().await.expect("a broker of our own");
    let app = spawn_app_with(Options {
        brokers: Some(broker.brokers()),
        ..Options::default()
    })
    .await;
    let customer = app.customer();
    let products = app.products().await;
    // Prices are asked of catalog over HTTP when the replica is empty, so this works with
    // or without catalog's events having arrived.
    broker.disconnect();
    let mut placed = Vec::new();
    for product in products.iter().take(5) {
        let response = app
            .place(&customer.token, &new_key(), &one_of(&product["id"], 1))
            .await;
        assert_eq!(response.status(), 202, "the API keeps taking orders");
        let order: Value = response.json().await.unwrap();
        placed.push(order["id"].as_str().unwrap().to_owned());
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    for id in &placed {
        let order: Value = app
            .get_as(&customer.token, &format!("/v1/orders/{id}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            order["status"], "pending",
            "nothing can confirm without the broker"
        );
    }

    // Consumers whose broker vanished rejoin their group after their session times out
    // (librdkafka's default is 45 s): be patient.
    broker.reconnect();
    for id in &placed {
        let order = app
            .settled_within(Duration::from_secs(120), &customer.token, id)
            .await;
        assert_eq!(
            order["status"], "confirmed",
            "every event delivered: {order}"
        );
    }
}

/// The saga always ends. With the broker cut off an order is accepted but cannot settle;
/// past `ORDER_PENDING_TIMEOUT_MS` it is cancelled. When the broker is back catalog reads
/// the order placed, then cancelled: whatever it reserved is released, and the stock ends
/// where it began. The late `StockReserved` does not bring the order back.
#[tokio::test]
async fn an_order_pending_past_its_timeout_is_cancelled_and_holds_no_stock() {
    let broker = PrivateBroker::start().await.expect("a broker of our own");
    let app = spawn_app_with(Options {
        brokers: Some(broker.brokers()),
        pending_timeout_ms: Some(1_000),
        ..Options::default()
    })
    .await;
    let customer = app.customer();
    let products = app.products().await;
    let product_id = products[0]["id"].as_str().unwrap().to_owned();
    let stock = app.stock_of(&product_id).await;

    broker.disconnect();
    let response = app
        .place(&customer.token, &new_key(), &one_of(&products[0]["id"], 2))
        .await;
    assert_eq!(response.status(), 202);
    let order: Value = response.json().await.unwrap();
    let order_id = order["id"].as_str().unwrap().to_owned();
    let expired = app
        .settled_within(Duration::from_secs(10), &customer.token, &order_id)
        .await;
    assert_eq!(expired["status"], "cancelled", "{expired}");
    assert!(
        expired["status_reason"]
            .as_str()
            .is_some_and(|reason| reason.starts_with("not settled within")),
        "{expired}"
    );

    broker.reconnect();
    let catalog_db = sqlx::PgPool::connect(&app.db.admin_url()).await.unwrap();
    let order_uuid: uuid::Uuid = order_id.parse().unwrap();
    eventually(
        Duration::from_secs(120),
        "catalog has read the order placed and cancelled",
        || {
            let pool = catalog_db.clone();
            async move {
                sqlx::query_scalar::<_, String>(
                    "SELECT status FROM catalog.stock_reservations WHERE order_id = $1",
                )
                .bind(order_uuid)
                .fetch_optional(&pool)
                .await
                .unwrap()
                .as_deref()
                    == Some("released")
            }
        },
    )
    .await;
    assert_eq!(app.stock_of(&product_id).await, stock, "stock conserved");
    let after: Value = app
        .get_as(&customer.token, &format!("/v1/orders/{order_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        after["status"], "cancelled",
        "a late decision changes nothing"
    );
}

#[tokio::test]
async fn confirmed_orders_feed_personalized_and_co_purchase_recommendations() {
    let app = spawn_app().await;
    let recommendations = spawn_recommendations(&app).await;
    let products = app.products().await;
    let (a, b, c) = (&products[0], &products[1], &products[2]);

    // Alice buys A and B together; Bob buys A, later C.
    let alice = app.customer();
    let bob = app.customer();
    let basket = json!({ "items": [
        { "product_id": a["id"], "quantity": 1 },
        { "product_id": b["id"], "quantity": 1 },
    ]});
    for (customer, body) in [
        (&alice, basket),
        (&bob, one_of(&a["id"], 1)),
        (&bob, one_of(&c["id"], 1)),
    ] {
        let order: Value = app
            .place(&customer.token, &new_key(), &body)
            .await
            .json()
            .await
            .unwrap();
        let settled = app
            .settled(&customer.token, order["id"].as_str().unwrap())
            .await;
        assert_eq!(settled["status"], "confirmed");
    }

    // Bought with A: B and C. Bob has A and C, so B (bought with A by Alice) is for him.
    let co_purchase = format!(
        "/v1/recommendations?product_id={}",
        a["id"].as_str().unwrap()
    );
    eventually(
        Duration::from_secs(30),
        "co-purchase recommendations",
        || async {
            let answer: Value = recommendations
                .get(&co_purchase)
                .await
                .json()
                .await
                .unwrap();
            answer["source"] == "co-purchase"
        },
    )
    .await;
    let personalized = format!("/v1/recommendations?user_id={}", bob.id);
    eventually(
        Duration::from_secs(30),
        "personalized recommendations",
        || async {
            let answer: Value = recommendations
                .http
                .get(recommendations.url(&personalized))
                .bearer_auth(&bob.token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            answer["source"] == "personalized" && answer["items"][0]["product_id"] == b["id"]
        },
    )
    .await;
}

/// recommendations on the same database and topics as `app`.
async fn spawn_recommendations(app: &TestApp) -> RunningService {
    let env = Env::from_pairs([
        ("DATABASE_URL", app.db.url_for("recommendations")),
        ("JWKS_URL", app.issuer.jwks_url()),
        ("KAFKA_BROKERS", app.brokers.clone()),
    ]);
    let mut config = recommendations::config::Config::from_env(&env).expect("config");
    config.server = ServerConfig::ephemeral();
    config.kafka.topic_prefix = app.topic_prefix.clone();
    RunningService::spawn(
        recommendations::app::build(config)
            .await
            .expect("recommendations starts"),
    )
}

/// A wiped broker takes longer: producers time out (10 s), and each stuck group is noticed
/// after two idle checks (5 s apart) before it gets a new client; about 40 s on an idle
/// machine. The patience leaves room for CI's load, within nextest's 2-minute limit.
#[tokio::test]
async fn after_the_broker_lost_everything_every_accepted_order_still_ends_final() {
    let broker = PrivateBroker::start().await.expect("a broker of our own");
    orders_through_a_broker_kill(broker, Duration::from_secs(90)).await;
}

#[tokio::test]
async fn after_a_durable_broker_is_killed_every_accepted_order_still_ends_final() {
    let broker = PrivateBroker::start_durable()
        .await
        .expect("a broker of our own on Postgres");
    orders_through_a_broker_kill(broker, Duration::from_secs(60)).await;
}

/// Orders placed before, during and after a `kill -9` of the broker and its restart: all
/// accepted, all final within `patience` of the broker being back, each reserving stock
/// once.
async fn orders_through_a_broker_kill(mut broker: PrivateBroker, patience: Duration) {
    let app = spawn_app_with(Options {
        brokers: Some(broker.brokers()),
        ..Options::default()
    })
    .await;
    let customer = app.customer();
    let products = app.products().await;
    let place = async |product: &Value| -> String {
        let response = app
            .place(&customer.token, &new_key(), &one_of(&product["id"], 1))
            .await;
        assert_eq!(response.status(), 202, "orders are accepted throughout");
        let order: Value = response.json().await.unwrap();
        order["id"].as_str().unwrap().to_owned()
    };
    let mut placed = Vec::new();
    for product in products.iter().take(3) {
        placed.push(place(product).await);
    }
    // A shop in service: the saga has run end to end, so both groups have their partitions.
    for id in &placed {
        app.settled_within(Duration::from_secs(30), &customer.token, id)
            .await;
    }

    // The broker dies (with every topic, message, group and offset, unless it is durable);
    // orders keep coming.
    broker.kill().await.expect("killed");
    for product in products.iter().skip(3).take(3) {
        placed.push(place(product).await);
    }
    let back = std::time::Instant::now();
    broker.restart().await.expect("the broker again");
    for product in products.iter().skip(6).take(3) {
        placed.push(place(product).await);
    }

    let mut confirmed = 0;
    for id in &placed {
        let order = app.settled_within(patience, &customer.token, id).await;
        assert!(
            order["status"] == "confirmed" || order["status"] == "rejected",
            "order {id} ends final within {patience:?} of the broker being back: {order}"
        );
        confirmed += usize::from(order["status"] == "confirmed");
    }
    eprintln!(
        "{} orders accepted, {confirmed} confirmed, all final {:?} after the broker was back",
        placed.len(),
        back.elapsed()
    );
    // Each was confirmed once: stock went down by one per order, not more.
    for product in products.iter().take(9) {
        let id = product["id"].as_str().unwrap();
        let before = product["stock"].as_i64().unwrap();
        assert_eq!(
            app.stock_of(id).await,
            before - 1,
            "{id}: one reservation per order, none applied twice"
        );
    }
}
