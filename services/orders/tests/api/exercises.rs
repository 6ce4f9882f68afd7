//! Exercise tests, ignored until a team takes the exercise on: see
//! `docs/exercises/orders-shipping.md`. They compile today and fail until solved;
//! `cargo nextest run -p orders --run-ignored ignored-only -E 'test(exercise)'` runs them.

use crate::helpers::{eventually, new_key, one_of, spawn_app};
use serde_json::{Value, json};
use std::time::Duration;
use uuid::Uuid;

const PATIENCE: Duration = Duration::from_secs(30);

#[tokio::test]
#[ignore = "exercise: shipping, a new service made with `cargo xtask new-service` (docs/exercises/orders-shipping.md)"]
async fn exercise_a_confirmed_order_is_shipped_when_shipping_says_so() {
    let app = spawn_app().await;
    let customer = app.customer();
    let products = app.products().await;
    let placed = app
        .place(
            &customer.token,
            &new_key(),
            &json!({ "items": [one_of(&products[0]["id"], 1)] }),
        )
        .await;
    assert_eq!(placed.status(), 202);
    let id = placed.json::<Value>().await.expect("order")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let settled = app.settled(&customer.token, &id).await;
    assert_eq!(settled["status"], "confirmed");

    // What the shipping service announces when a parcel leaves: an envelope on
    // `shipping.events` (this test's copy of the topic), keyed by the order.
    let dispatched = json!({
        "id": Uuid::now_v7(),
        "source": "shipping",
        "time": "2026-12-02T10:00:00Z",
        "subject": id,
        "schema_version": 1,
        "type": "ShipmentDispatched",
        "data": { "order_id": id, "carrier": "Harbor Post", "tracking_number": "HP123456789" }
    });
    let topic = format!("{}shipping.events", app.topic_prefix);
    let payload = dispatched.to_string();
    shop_testing::publish(&app.brokers, &topic, &id, payload.as_bytes()).await;

    eventually(PATIENCE, "the order is shipped", || async {
        let order: Value = app
            .get_as(&customer.token, &format!("/v1/orders/{id}"))
            .await
            .json()
            .await
            .expect("order");
        order["status"] == "shipped" && order["shipment"]["tracking_number"] == "HP123456789"
    })
    .await;
    let cancel = app.cancel(&customer.token, &id).await;
    assert_eq!(cancel.status(), 409, "a shipped order cannot be cancelled");
}
