//! Each `/api/…` route reaches the right path of the right service, with the right method.

use crate::helpers::{closed_url, serve, spawn_storefront};
use axum::Router;
use axum::http::{Method, Uri};
use serde_json::{Value, json};

/// An upstream that answers with where it was called, and which service it stands for.
fn reporting(service: &'static str) -> Router {
    Router::new().fallback(move |method: Method, uri: Uri| async move {
        axum::Json(json!({
            "service": service,
            "call": format!("{method} {}", uri.path()),
            "query": uri.query(),
        }))
    })
}

#[tokio::test]
async fn every_route_reaches_its_owner() {
    let mut env = Vec::new();
    for (variable, service) in [
        ("USERS_URL", "users"),
        ("CATALOG_URL", "catalog"),
        ("ORDERS_URL", "orders"),
        ("RECOMMENDATIONS_URL", "recommendations"),
    ] {
        env.push((variable, serve(reporting(service)).await));
    }
    let storefront = spawn_storefront(env).await;
    let id = uuid::Uuid::new_v4();
    let routes = [
        (
            "GET",
            "/api/categories".to_owned(),
            "catalog",
            "GET /v1/categories".to_owned(),
        ),
        (
            "GET",
            "/api/products".to_owned(),
            "catalog",
            "GET /v1/products".to_owned(),
        ),
        (
            "GET",
            format!("/api/products/{id}"),
            "catalog",
            format!("GET /v1/products/{id}"),
        ),
        (
            "POST",
            "/api/users".to_owned(),
            "users",
            "POST /v1/users".to_owned(),
        ),
        (
            "POST",
            "/api/sessions".to_owned(),
            "users",
            "POST /v1/sessions".to_owned(),
        ),
        (
            "GET",
            "/api/me".to_owned(),
            "users",
            "GET /v1/users/me".to_owned(),
        ),
        (
            "POST",
            "/api/orders".to_owned(),
            "orders",
            "POST /v1/orders".to_owned(),
        ),
        (
            "GET",
            "/api/orders".to_owned(),
            "orders",
            "GET /v1/orders".to_owned(),
        ),
        (
            "GET",
            format!("/api/orders/{id}"),
            "orders",
            format!("GET /v1/orders/{id}"),
        ),
        (
            "POST",
            format!("/api/orders/{id}/cancel"),
            "orders",
            format!("POST /v1/orders/{id}/cancel"),
        ),
        (
            "GET",
            "/api/recommendations".to_owned(),
            "recommendations",
            "GET /v1/recommendations".to_owned(),
        ),
    ];
    for (method, path, service, call) in routes {
        let method: reqwest::Method = method.parse().unwrap();
        let response = storefront
            .http
            .request(method.clone(), storefront.url(&format!("{path}?page=2")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{method} {path}");
        let seen: Value = response.json().await.unwrap();
        assert_eq!(seen["service"], service, "{method} {path}");
        assert_eq!(seen["call"], call, "{method} {path}");
        assert_eq!(seen["query"], "page=2", "{method} {path}");
    }
}

#[tokio::test]
async fn a_malformed_id_is_refused_before_any_call() {
    // Nothing listens behind: a forwarded call would be a 503, not a 422.
    let mut env = Vec::new();
    for variable in [
        "USERS_URL",
        "CATALOG_URL",
        "ORDERS_URL",
        "RECOMMENDATIONS_URL",
    ] {
        env.push((variable, closed_url().await));
    }
    let storefront = spawn_storefront(env).await;
    for (method, path) in [
        (reqwest::Method::GET, "/api/products/nope"),
        (reqwest::Method::GET, "/api/orders/nope"),
        // An encoded path cannot climb out of the upstream's route.
        (
            reqwest::Method::POST,
            "/api/orders/..%2F..%2Fv1%2Fusers/cancel",
        ),
    ] {
        let response = storefront
            .http
            .request(method, storefront.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["errors"][0]["field"], "id", "{path}");
    }
}
