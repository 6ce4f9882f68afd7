//! An upstream that does not answer is a 503 naming it, never a 500.

use crate::helpers::{closed_url, silent_url, spawn_storefront};
use serde_json::Value;

async fn problem(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    (status, response.json().await.expect("a problem"))
}

#[tokio::test]
async fn an_unreachable_upstream_is_a_503_naming_it() {
    let storefront = spawn_storefront(vec![("USERS_URL", closed_url().await)]).await;
    let (status, body) = problem(storefront.get("/api/me").await).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["type"], "/problems/upstream-unavailable");
    assert_eq!(body["service"], "users");
    assert_eq!(body["detail"], "the users service cannot be reached");
}

#[tokio::test]
async fn a_silent_upstream_is_a_503_after_the_timeout() {
    let storefront = spawn_storefront(vec![
        ("CATALOG_URL", silent_url().await),
        ("UPSTREAM_TIMEOUT_MS", "300".to_owned()),
    ])
    .await;
    let (status, body) = problem(storefront.get("/api/products?page=1").await).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["type"], "/problems/upstream-unavailable");
    assert_eq!(body["service"], "catalog");
    assert_eq!(body["detail"], "the catalog service did not answer in time");
}
