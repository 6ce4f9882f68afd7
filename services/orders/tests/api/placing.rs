use crate::helpers::{Options, eventually, new_key, one_of, spawn_app, spawn_app_with};
use serde_json::{Value, json};
use std::time::Duration;

#[tokio::test]
async fn an_order_is_accepted_pending_then_confirmed_at_catalog_prices() {
    let app = spawn_app().await;
    let customer = app.customer();
    let products = app.products().await;
    let (a, b) = (&products[0], &products[1]);
    let stock_before = app.stock_of(a["id"].as_str().unwrap()).await;

    let body = json!({ "items": [
        { "product_id": a["id"], "quantity": 2 },
        { "product_id": b["id"], "quantity": 1 },
    ]});
    let response = app.place(&customer.token, &new_key(), &body).await;
    assert_eq!(response.status(), 202);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let order: Value = response.json().await.unwrap();
    assert_eq!(order["status"], "pending");
    assert_eq!(
        location,
        format!("/v1/orders/{}", order["id"].as_str().unwrap())
    );
    assert_eq!(order["user_id"], customer.id.to_string());

    let expected = 2 * a["price"]["amount_minor"].as_i64().unwrap()
        + b["price"]["amount_minor"].as_i64().unwrap();
    assert_eq!(
        order["total"]["amount_minor"], expected,
        "priced by catalog"
    );
    assert_eq!(order["total"]["currency"], a["price"]["currency"]);
    assert_eq!(order["items"][0]["name"], a["name"]);
    assert_eq!(order["items"][0]["quantity"], 2);

    let settled = app
        .settled(&customer.token, order["id"].as_str().unwrap())
        .await;
    assert_eq!(settled["status"], "confirmed", "{settled}");
    assert_eq!(
        app.stock_of(a["id"].as_str().unwrap()).await,
        stock_before - 2,
        "stock reserved"
    );
}

#[tokio::test]
async fn an_order_for_more_than_the_stock_is_rejected() {
    let app = spawn_app().await;
    let customer = app.customer();
    let products = app.products().await;
    let scarce = products
        .iter()
        .find(|p| p["stock"].as_i64().unwrap() < 100)
        .expect("a product with less than 100 in stock");
    let stock = scarce["stock"].as_i64().unwrap();

    let body = one_of(&scarce["id"], u32::try_from(stock + 1).unwrap());
    let order: Value = app
        .place(&customer.token, &new_key(), &body)
        .await
        .json()
        .await
        .unwrap();
    let settled = app
        .settled(&customer.token, order["id"].as_str().unwrap())
        .await;
    assert_eq!(settled["status"], "rejected", "{settled}");
    assert!(settled["status_reason"].is_string());
    assert_eq!(
        app.stock_of(scarce["id"].as_str().unwrap()).await,
        stock,
        "nothing taken"
    );
}

#[tokio::test]
async fn the_same_idempotency_key_returns_the_same_order() {
    let app = spawn_app().await;
    let customer = app.customer();
    let products = app.products().await;
    let body = one_of(&products[0]["id"], 1);
    let key = new_key();

    let first: Value = app
        .place(&customer.token, &key, &body)
        .await
        .json()
        .await
        .unwrap();
    let again = app.place(&customer.token, &key, &body).await;
    assert_eq!(again.status(), 202);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(first["id"], again["id"]);

    let list: Value = app
        .get_as(&customer.token, "/v1/orders")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 1, "nothing new was created");

    // The same key with a different order is a client bug: refused, not silently merged.
    let different = app
        .place(&customer.token, &key, &one_of(&products[1]["id"], 1))
        .await;
    assert_eq!(different.status(), 422);
    let problem: Value = different.json().await.unwrap();
    assert_eq!(problem["type"], "/problems/idempotency-key-reused");

    // Another user's identical key is their own.
    let other = app.customer();
    let theirs: Value = app
        .place(&other.token, &key, &body)
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(theirs["id"], first["id"]);
}

#[tokio::test]
async fn two_concurrent_requests_with_one_key_create_one_order() {
    let app = spawn_app().await;
    let customer = app.customer();
    let products = app.products().await;
    let body = one_of(&products[0]["id"], 1);
    let key = new_key();

    let requests = (0..8).map(|_| app.place(&customer.token, &key, &body));
    let responses = futures::future::join_all(requests).await;
    let mut ids = Vec::new();
    for response in responses {
        assert_eq!(response.status(), 202);
        let order: Value = response.json().await.unwrap();
        ids.push(order["id"].as_str().unwrap().to_owned());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every request got the same order: {ids:?}");
    let list: Value = app
        .get_as(&customer.token, "/v1/orders")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 1);
}

#[tokio::test]
async fn invalid_orders_are_refused_naming_the_field() {
    let app = spawn_app().await;
    let customer = app.customer();
    let products = app.products().await;

    let missing_key = app
        .service
        .http
        .post(app.service.url("/v1/orders"))
        .bearer_auth(&customer.token)
        .json(&one_of(&products[0]["id"], 1))
        .send()
        .await
        .unwrap();
    assert_eq!(missing_key.status(), 400);
    let problem: Value = missing_key.json().await.unwrap();
    assert_eq!(problem["type"], "/problems/idempotency-key-required");

    let cases = [
        (json!({ "items": [] }), "items"),
        (one_of(&products[0]["id"], 0), "items[0].quantity"),
        (one_of(&products[0]["id"], 101), "items[0].quantity"),
        (one_of(&json!("not-a-uuid"), 1), "items[0].product_id"),
        (
            one_of(&json!(uuid::Uuid::new_v4()), 1),
            "items[0].product_id",
        ),
        (
            json!({ "items": [{ "product_id": products[0]["id"] }] }),
            "items[0].quantity",
        ),
        (
            json!({ "items": [{ "product_id": products[0]["id"], "quantity": 1, "price": 1 }] }),
            "items[0].price",
        ),
        (json!({ "items": [], "total": 0 }), "total"),
    ];
    for (body, field) in cases {
        let response = app.place(&customer.token, &new_key(), &body).await;
        assert_eq!(response.status(), 422, "{body}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let problem: Value = response.json().await.unwrap();
        let fields: Vec<&str> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert!(fields.contains(&field), "{body} → {problem}");
    }

    let not_json = app
        .service
        .http
        .post(app.service.url("/v1/orders"))
        .bearer_auth(&customer.token)
        .header("Idempotency-Key", new_key())
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);

    let list: Value = app
        .get_as(&customer.token, "/v1/orders")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 0, "no invalid request created an order");
}

#[tokio::test]
async fn orders_are_listed_newest_first_and_paginated() {
    let app = spawn_app().await;
    let customer = app.customer();
    let products = app.products().await;
    let mut placed = Vec::new();
    for product in products.iter().take(3) {
        let order: Value = app
            .place(&customer.token, &new_key(), &one_of(&product["id"], 1))
            .await
            .json()
            .await
            .unwrap();
        placed.push(order["id"].clone());
    }
    let page: Value = app
        .get_as(&customer.token, "/v1/orders?per_page=2")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 3);
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(page["items"][0]["id"], placed[2], "newest first");
    let second: Value = app
        .get_as(&customer.token, "/v1/orders?per_page=2&page=2")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(second["items"][0]["id"], placed[0]);

    let too_many = app.get_as(&customer.token, "/v1/orders?per_page=101").await;
    assert_eq!(too_many.status(), 422);
    let problem: Value = too_many.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "per_page");
}

#[tokio::test]
async fn orders_are_taken_while_catalog_is_unreachable() {
    // Catalog's HTTP API is out of reach; its events still arrive, so orders knows prices.
    let app = spawn_app_with(Options {
        catalog_url: Some("http://127.0.0.1:9".to_owned()),
        ..Options::default()
    })
    .await;
    let customer = app.customer();
    let products = app.products().await;
    let body = one_of(&products[0]["id"], 1);
    eventually(
        Duration::from_secs(30),
        "orders learns catalog's prices from its events",
        || async { app.place(&customer.token, &new_key(), &body).await.status() == 202 },
    )
    .await;

    // A product orders has never heard of cannot be priced without catalog: 503, not a guess.
    let unknown = app
        .place(
            &customer.token,
            &new_key(),
            &one_of(&serde_json::json!(uuid::Uuid::new_v4()), 1),
        )
        .await;
    assert_eq!(unknown.status(), 503);
    assert!(unknown.headers().contains_key("retry-after"));
    let problem: Value = unknown.json().await.unwrap();
    assert_eq!(problem["type"], "/problems/unavailable");
}

/// What the contract allows is accepted: JSON Schema counts `2.0` as an integer, and
/// schemathesis once found it refused.
#[tokio::test]
async fn a_whole_quantity_written_as_a_float_is_accepted() {
    let app = spawn_app().await;
    let customer = app.customer();
    let products = app.products().await;
    let body = json!({ "items": [{ "product_id": products[0]["id"], "quantity": 2.0 }] });
    let response = app.place(&customer.token, &new_key(), &body).await;
    assert_eq!(response.status(), 202);
    let half = json!({ "items": [{ "product_id": products[0]["id"], "quantity": 1.5 }] });
    let response = app.place(&customer.token, &new_key(), &half).await;
    assert_eq!(response.status(), 422);
}

/// A page past `int32` (the contract's format) is refused, not served as an empty page.
#[tokio::test]
async fn a_page_out_of_range_is_refused() {
    let app = spawn_app().await;
    let customer = app.customer();
    let response = app
        .get_as(&customer.token, "/v1/orders?page=2147483648")
        .await;
    assert_eq!(response.status(), 422);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "page");
}
