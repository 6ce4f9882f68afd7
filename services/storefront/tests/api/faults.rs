//! Fault injection in the storefront itself: off by default, admins only, and it reaches
//! the JSON API and the web pages alike.

use crate::helpers::{serve, spawn_storefront};
use axum::Router;
use axum::routing::get;
use reqwest::StatusCode;
use serde_json::{Value, json};
use shop_auth::Role;
use shop_auth::testing::TestIssuer;
use shop_testing::RunningService;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// A catalog with an empty first page: enough for the pages under test.
fn catalog() -> Router {
    let empty = json!({"items": [], "page": 1, "per_page": 12, "total": 0});
    Router::new()
        .route(
            "/v1/products",
            get(move || async move { axum::Json(empty) }),
        )
        .route("/v1/categories", get(|| async { axum::Json(json!([])) }))
}

/// `PUT`/`GET`/`DELETE /ops/faults` with a token of `role` (none when `None`).
async fn faults(
    storefront: &RunningService,
    issuer: &TestIssuer,
    method: reqwest::Method,
    role: Option<Role>,
    body: Value,
) -> reqwest::Response {
    let mut request = storefront
        .http
        .request(method, storefront.url("/ops/faults"))
        .json(&body);
    if let Some(role) = role {
        request = request.bearer_auth(issuer.token(Uuid::now_v7(), role));
    }
    request.send().await.expect("an answer")
}

#[tokio::test]
async fn the_storefront_serves_no_fault_injection_unless_enabled() {
    let issuer = TestIssuer::start().await;
    let storefront = spawn_storefront(vec![("JWKS_URL", issuer.jwks_url())]).await;
    let answer = faults(
        &storefront,
        &issuer,
        reqwest::Method::PUT,
        Some(Role::Admin),
        json!({"route_pattern": "*", "error_rate": 1.0}),
    )
    .await;
    assert_eq!(answer.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_admin_breaks_and_heals_the_storefronts_api_and_pages() {
    let issuer = TestIssuer::start().await;
    let storefront = spawn_storefront(vec![
        ("JWKS_URL", issuer.jwks_url()),
        ("FAULTS_ENABLED", "true".to_owned()),
        ("CATALOG_URL", serve(catalog()).await),
        ("RECOMMENDATIONS_URL", serve(Router::new()).await),
    ])
    .await;
    let fault = json!({"route_pattern": "/api/products", "error_rate": 1.0});
    let anonymous = faults(
        &storefront,
        &issuer,
        reqwest::Method::PUT,
        None,
        fault.clone(),
    )
    .await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let customer = faults(
        &storefront,
        &issuer,
        reqwest::Method::PUT,
        Some(Role::Customer),
        fault.clone(),
    )
    .await;
    assert_eq!(customer.status(), StatusCode::FORBIDDEN);
    assert_eq!(storefront.get("/api/products").await.status(), 200);

    let admin = Some(Role::Admin);
    let put = reqwest::Method::PUT;
    assert_eq!(
        faults(&storefront, &issuer, put.clone(), admin, fault)
            .await
            .status(),
        StatusCode::OK
    );
    let failing = storefront.get("/api/products").await;
    assert_eq!(failing.status(), StatusCode::SERVICE_UNAVAILABLE);
    let problem: Value = failing.json().await.expect("a problem");
    assert_eq!(problem["type"], "/problems/injected-fault");

    // The web pages too: the home page slowed down, readiness failing.
    let slow = json!({"route_pattern": "/", "latency_ms": 300, "fail_readiness": true});
    assert_eq!(
        faults(&storefront, &issuer, put, admin, slow)
            .await
            .status(),
        StatusCode::OK
    );
    let started = Instant::now();
    let home = storefront.get("/").await;
    assert_eq!(home.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(
        storefront.get("/health/ready").await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );

    let cleared = faults(
        &storefront,
        &issuer,
        reqwest::Method::DELETE,
        admin,
        json!({}),
    )
    .await;
    assert_eq!(cleared.status(), StatusCode::NO_CONTENT);
    assert_eq!(storefront.get("/api/products").await.status(), 200);
    assert_eq!(storefront.get("/health/ready").await.status(), 200);
}
