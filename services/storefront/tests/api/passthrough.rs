//! Answers from a real upstream come back unchanged: status, content type and body.

use crate::helpers::spawn_shop;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use serde_json::Value;
use shop_auth::Role;
use shop_testing::RunningService;
use uuid::Uuid;

/// `GET path` with `headers`: status, content type, body.
async fn get(
    service: &RunningService,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, String, Value, reqwest::header::HeaderMap) {
    let mut request = service.http.get(service.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("an answer");
    let status = response.status().as_u16();
    let response_headers = response.headers().clone();
    let content_type = response_headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response.json().await.expect("a JSON body");
    (status, content_type, body, response_headers)
}

#[tokio::test]
async fn a_success_passes_through_unchanged() {
    let shop = spawn_shop().await;
    let through = get(&shop.storefront, "/api/recommendations?limit=2", &[]).await;
    let direct = get(&shop.recommendations, "/v1/recommendations?limit=2", &[]).await;

    assert_eq!(through.0, 200, "{}", through.2);
    assert_eq!(through.1, "application/json");
    assert_eq!(through.2, direct.2);
    assert_eq!(through.2["source"], "static");
    assert_eq!(
        through.3["x-recommendations-version"], "v1",
        "which ranking answered is part of the answer"
    );
    let first: Vec<String> = shop.static_products[..2]
        .iter()
        .map(Uuid::to_string)
        .collect();
    let items = through.2["items"].as_array().expect("items");
    assert_eq!(items.len(), 2, "the query string was forwarded");
    assert_eq!(items[0]["product_id"], first[0]);
    assert_eq!(items[1]["product_id"], first[1]);
}

#[tokio::test]
async fn a_problem_passes_through_unchanged() {
    let shop = spawn_shop().await;
    let request_id = [("x-request-id", "storefront-test-422")];
    let (status, content_type, body, headers) = get(
        &shop.storefront,
        "/api/recommendations?limit=0",
        &request_id,
    )
    .await;

    assert_eq!(status, 422, "{body}");
    assert_eq!(headers["x-recommendations-version"], "v1");
    assert_eq!(content_type, "application/problem+json");
    assert_eq!(body["type"], "/problems/validation");
    assert_eq!(body["errors"][0]["field"], "limit");
    // The upstream saw the storefront's request id, and its problem quotes it.
    assert_eq!(body["request_id"], "storefront-test-422");
}

#[tokio::test]
async fn the_authorization_header_reaches_the_upstream() {
    let shop = spawn_shop().await;
    let user = Uuid::new_v4();
    let path = format!("/api/recommendations?user_id={user}");

    let (status, _, body, headers) = get(&shop.storefront, &path, &[]).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["type"], "/problems/unauthorized");
    assert_eq!(
        headers[WWW_AUTHENTICATE], "Bearer",
        "the challenge passes too"
    );

    let own = format!("Bearer {}", shop.issuer.token(user, Role::Customer));
    let (status, _, body, _) =
        get(&shop.storefront, &path, &[(AUTHORIZATION.as_str(), &own)]).await;
    assert_eq!(status, 200, "the user's own token got through: {body}");

    let other = format!(
        "Bearer {}",
        shop.issuer.token(Uuid::new_v4(), Role::Customer)
    );
    let (status, content_type, body, _) =
        get(&shop.storefront, &path, &[(AUTHORIZATION.as_str(), &other)]).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(content_type, "application/problem+json");
    assert_eq!(body["type"], "/problems/forbidden");
}

/// Registers through the storefront's API and signs in: the bearer token.
async fn api_customer(shop: &crate::helpers::FullShop, name: &str) -> String {
    let http = &shop.storefront.http;
    let email = format!("{}@example.com", uuid::Uuid::new_v4().simple());
    let registered = http
        .post(shop.storefront.url("/api/users"))
        .json(&serde_json::json!({ "name": name, "email": email, "password": "correct horse battery" }))
        .send()
        .await
        .expect("register");
    assert_eq!(registered.status(), 201);
    let session: serde_json::Value = http
        .post(shop.storefront.url("/api/sessions"))
        .json(&serde_json::json!({ "email": email, "password": "correct horse battery" }))
        .send()
        .await
        .expect("sign in")
        .json()
        .await
        .expect("a token");
    session["access_token"].as_str().expect("token").to_owned()
}

#[tokio::test]
async fn another_customers_order_is_not_found_through_the_api() {
    let shop = crate::helpers::spawn_full_shop().await;
    let http = &shop.storefront.http;
    let alice = api_customer(&shop, "Alice").await;
    let bob = api_customer(&shop, "Bob").await;
    let products: serde_json::Value = http
        .get(shop.storefront.url("/api/products"))
        .send()
        .await
        .expect("products")
        .json()
        .await
        .expect("a page");
    let product = &products["items"][0]["id"];
    let placed = http
        .post(shop.storefront.url("/api/orders"))
        .bearer_auth(&alice)
        .header("idempotency-key", uuid::Uuid::new_v4().to_string())
        .json(&serde_json::json!({ "items": [{ "product_id": product, "quantity": 1 }] }))
        .send()
        .await
        .expect("place");
    assert_eq!(placed.status(), 202);
    let order: serde_json::Value = placed.json().await.expect("order");
    let id = order["id"].as_str().expect("id");

    let path = format!("/api/orders/{id}");
    let mine = http
        .get(shop.storefront.url(&path))
        .bearer_auth(&alice)
        .send()
        .await
        .expect("get");
    assert_eq!(mine.status(), 200);
    let theirs = http
        .get(shop.storefront.url(&path))
        .bearer_auth(&bob)
        .send()
        .await
        .expect("get");
    assert_eq!(
        theirs.status(),
        404,
        "Bob cannot even tell Alice's order exists"
    );
    let cancel = http
        .post(shop.storefront.url(&format!("{path}/cancel")))
        .bearer_auth(&bob)
        .send()
        .await
        .expect("cancel");
    assert_eq!(cancel.status(), 404);
    let listed: serde_json::Value = http
        .get(shop.storefront.url("/api/orders"))
        .bearer_auth(&bob)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("a page");
    assert_eq!(listed["total"], 0, "Bob's list has none of Alice's orders");
}
