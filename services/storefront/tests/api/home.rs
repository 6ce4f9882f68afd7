//! `GET /api/home` never fails because of recommendations: a fallback answers, and says so.

use crate::helpers::{closed_url, serve, spawn_shop_with_catalog, spawn_storefront};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};
use uuid::Uuid;

const OLDER: Uuid = Uuid::from_u128(0x0196_0000_0000_7000_8000_0000_0000_0001);
const NEWER: Uuid = Uuid::from_u128(0x0196_0000_0000_7000_8000_0000_0000_0002);
const POPULAR: Uuid = Uuid::from_u128(0x0196_0000_0000_7000_8000_0000_0000_0009);

/// A catalog whose first page holds two products, the older one first (as catalog sorts).
fn catalog() -> Router {
    Router::new().route(
        "/v1/products",
        get(|| async {
            axum::Json(json!({
                "items": [
                    {"id": OLDER, "name": "Older", "created_at": "2026-01-01T00:00:00Z"},
                    {"id": NEWER, "name": "Newer", "created_at": "2026-02-01T00:00:00Z"},
                ],
                "page": 1, "per_page": 12, "total": 2,
            }))
        }),
    )
}

const POPULAR_LIST: u8 = 0;
const FAILING: u8 = 1;
const SLOW: u8 = 2;

/// A recommendations service that answers a popular list, fails, or sleeps 2 s.
fn recommendations(mode: Arc<AtomicU8>) -> Router {
    async fn answer(State(mode): State<Arc<AtomicU8>>) -> (StatusCode, axum::Json<Value>) {
        match mode.load(Ordering::SeqCst) {
            FAILING => (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(json!({}))),
            SLOW => {
                tokio::time::sleep(Duration::from_secs(2)).await;
                (
                    StatusCode::OK,
                    axum::Json(json!({"source": "static", "items": []})),
                )
            }
            _ => (
                StatusCode::OK,
                axum::Json(json!({
                    "source": "popular",
                    "items": [{"product_id": POPULAR, "score": 4.5}],
                })),
            ),
        }
    }
    Router::new()
        .route("/v1/recommendations", get(answer))
        .with_state(mode)
}

/// The storefront in front of the two-product [`catalog`] and recommendations at
/// `recommendations_url`.
async fn storefront_before(recommendations_url: String) -> shop_testing::RunningService {
    spawn_storefront(vec![
        ("CATALOG_URL", serve(catalog()).await),
        ("RECOMMENDATIONS_URL", recommendations_url),
    ])
    .await
}

async fn home(storefront: &shop_testing::RunningService) -> Value {
    let response = storefront.get("/api/home").await;
    assert_eq!(response.status(), 200);
    response.json().await.expect("the home page's data")
}

fn ids(recommendations: &Value) -> Vec<String> {
    recommendations["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["product_id"].as_str().expect("an id").to_owned())
        .collect()
}

#[tokio::test]
async fn with_recommendations_stopped_the_newest_catalog_products_answer() {
    let shop = spawn_shop_with_catalog(serve(catalog()).await).await;
    let before = home(&shop.storefront).await;
    assert_eq!(before["recommendations"]["source"], "static", "{before}");
    assert_eq!(before["products"]["total"], 2);

    let storefront = shop.storefront;
    drop(shop.recommendations);
    tokio::time::sleep(Duration::from_millis(300)).await;

    let after = home(&storefront).await;
    assert_eq!(
        after["recommendations"]["source"], "fallback-catalog",
        "{after}"
    );
    assert_eq!(
        ids(&after["recommendations"]),
        [NEWER.to_string(), OLDER.to_string()]
    );
    assert_eq!(after["products"]["total"], 2);
}

#[tokio::test]
async fn the_last_popular_list_answers_while_recommendations_fail() {
    let mode = Arc::new(AtomicU8::new(POPULAR_LIST));
    let storefront = storefront_before(serve(recommendations(mode.clone())).await).await;
    let fresh = home(&storefront).await;
    assert_eq!(fresh["recommendations"]["source"], "popular");

    mode.store(FAILING, Ordering::SeqCst);
    let cached = home(&storefront).await;
    assert_eq!(
        cached["recommendations"]["source"], "fallback-cache",
        "{cached}"
    );
    assert_eq!(ids(&cached["recommendations"]), [POPULAR.to_string()]);
}

#[tokio::test]
async fn slow_recommendations_do_not_slow_the_home_page() {
    let mode = Arc::new(AtomicU8::new(SLOW));
    let storefront = storefront_before(serve(recommendations(mode)).await).await;
    let started = Instant::now();
    let answer = home(&storefront).await;
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(1), "{elapsed:?}");
    assert_eq!(answer["recommendations"]["source"], "fallback-catalog");

    let metrics = storefront
        .get("/metrics")
        .await
        .text()
        .await
        .expect("metrics");
    assert!(
        metrics.lines().any(
            |line| line.starts_with("storefront_recommendations_served_total")
                && line.contains(r#"source="fallback-catalog""#)
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn an_open_breaker_shows_in_ops_dependencies_and_the_fallback_still_answers() {
    let mode = Arc::new(AtomicU8::new(FAILING));
    let recommendations_url = serve(recommendations(mode)).await;
    let storefront = storefront_before(recommendations_url.clone()).await;
    // Ten failures out of ten calls open the breaker; the next calls do not reach it.
    for _ in 0..12 {
        let answer = home(&storefront).await;
        assert_eq!(answer["recommendations"]["source"], "fallback-catalog");
    }
    let ops: Value = storefront
        .get("/ops/dependencies")
        .await
        .json()
        .await
        .expect("the dependencies");
    // Every client of this test process is listed: find this storefront's.
    let entry = ops["dependencies"]
        .as_array()
        .expect("a list")
        .iter()
        .find(|entry| entry["instances"][0] == recommendations_url.as_str())
        .unwrap_or_else(|| panic!("{ops}"));
    assert_eq!(entry["dependency"], "recommendations");
    assert_eq!(entry["state"], "open", "{entry}");
    assert_eq!(entry["failures"], 10, "{entry}");
    assert_eq!(entry["short_circuited"], 2, "{entry}");
}

/// `GET /api/recommendations?{query}` through the storefront: the status and the body.
async fn recommended(storefront: &shop_testing::RunningService, query: &str) -> (u16, Value) {
    let response = storefront
        .get(&format!("/api/recommendations?{query}"))
        .await;
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

#[tokio::test]
async fn the_recommendations_api_falls_back_like_the_home_page() {
    let mode = Arc::new(AtomicU8::new(POPULAR_LIST));
    let storefront = storefront_before(serve(recommendations(mode.clone())).await).await;
    let (status, fresh) = recommended(&storefront, "limit=5").await;
    assert_eq!((status, &fresh["source"]), (200, &json!("popular")));

    // Failing: the popular list just seen answers.
    mode.store(FAILING, Ordering::SeqCst);
    let (status, cached) = recommended(&storefront, "limit=5").await;
    assert_eq!(status, 200, "{cached}");
    assert_eq!(cached["source"], "fallback-cache", "{cached}");
    assert_eq!(ids(&cached), [POPULAR.to_string()]);

    // Slow: the fallback answers within the budget instead of waiting 2 s.
    mode.store(SLOW, Ordering::SeqCst);
    let started = Instant::now();
    let (status, quick) = recommended(&storefront, "limit=5").await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!((status, &quick["source"]), (200, &json!("fallback-cache")));
}

#[tokio::test]
async fn without_a_cached_list_the_recommendations_api_answers_the_newest_products() {
    let storefront = storefront_before(closed_url().await).await;
    let (status, answer) = recommended(&storefront, "limit=1").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["source"], "fallback-catalog", "{answer}");
    assert_eq!(ids(&answer), [NEWER.to_string()], "the newest, limit 1");
}
