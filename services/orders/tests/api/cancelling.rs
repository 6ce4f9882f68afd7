use crate::helpers::{eventually, new_key, one_of, spawn_app};
use serde_json::Value;
use std::time::Duration;

#[tokio::test]
async fn cancelling_a_confirmed_order_returns_its_stock() {
    let app = spawn_app().await;
    let customer = app.customer();
    let products = app.products().await;
    let id = products[0]["id"].as_str().unwrap();
    let stock = app.stock_of(id).await;

    let order: Value = app
        .place(&customer.token, &new_key(), &one_of(&products[0]["id"], 3))
        .await
        .json()
        .await
        .unwrap();
    let order_id = order["id"].as_str().unwrap();
    assert_eq!(
        app.settled(&customer.token, order_id).await["status"],
        "confirmed"
    );
    assert_eq!(app.stock_of(id).await, stock - 3);

    let cancelled = app.cancel(&customer.token, order_id).await;
    assert_eq!(cancelled.status(), 200);
    let cancelled: Value = cancelled.json().await.unwrap();
    assert_eq!(cancelled["status"], "cancelled");
    // Catalog returns the stock when it reads OrderCancelled.
    eventually(Duration::from_secs(30), "the stock comes back", || async {
        app.stock_of(id).await == stock
    })
    .await;

    // Cancelling again is refused and returns nothing twice.
    let again = app.cancel(&customer.token, order_id).await;
    assert_eq!(again.status(), 409);
    let problem: Value = again.json().await.unwrap();
    assert_eq!(problem["type"], "/problems/order-not-cancellable");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.stock_of(id).await, stock, "returned once, not twice");
}

#[tokio::test]
async fn a_rejected_order_cannot_be_cancelled() {
    let app = spawn_app().await;
    let customer = app.customer();
    let products = app.products().await;
    let scarce = products
        .iter()
        .find(|p| p["stock"].as_i64().unwrap() < 100)
        .unwrap();
    let quantity = u32::try_from(scarce["stock"].as_i64().unwrap() + 1).unwrap();
    let order: Value = app
        .place(
            &customer.token,
            &new_key(),
            &one_of(&scarce["id"], quantity),
        )
        .await
        .json()
        .await
        .unwrap();
    let order_id = order["id"].as_str().unwrap();
    assert_eq!(
        app.settled(&customer.token, order_id).await["status"],
        "rejected"
    );
    assert_eq!(app.cancel(&customer.token, order_id).await.status(), 409);
}
