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
