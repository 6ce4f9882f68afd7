//! What every service refuses, and how: a body too large, JSON nested too deep, a request
//! that runs too long, a handler that panics or fails inside. Each answer is a problem
//! that gives nothing away, and the service keeps serving.

use axum::Router;
use axum::routing::{get, post};
use serde_json::Value;
use shop_server::{HttpSettings, Json, Problem, ServiceBuilder, ServiceInfo};
use std::net::SocketAddr;
use std::time::Duration;

const INFO: ServiceInfo = ServiceInfo {
    name: "limits-test",
    version: "0",
};

const SECRET: &str = "postgres://shop:hunter2@10.0.0.5/shop";

async fn echo(Json(body): Json<Value>) -> axum::Json<Value> {
    axum::Json(body)
}

async fn serve() -> String {
    let pages = Router::new()
        .route("/echo", post(echo))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "too late"
            }),
        )
        .route(
            "/panic",
            get(|| async {
                if std::hint::black_box(true) {
                    panic!("the connection string is {SECRET}");
                }
                "unreachable"
            }),
        )
        .route(
            "/fails",
            get(|| async { Problem::internal(&format!("cannot connect to {SECRET}")) }),
        );
    let settings = HttpSettings {
        body_limit_bytes: 1024,
        request_timeout: Duration::from_millis(300),
        ..HttpSettings::default()
    };
    let app = ServiceBuilder::new(INFO)
        .settings(settings)
        .pages(pages)
        .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("binds");
    let url = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until(std::future::pending()));
    url
}

/// Status, problem type, the whole body as text; the content type must be a problem's.
async fn problem(response: reqwest::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json",
        "status {status}"
    );
    let text = response.text().await.expect("body");
    let body: Value = serde_json::from_str(&text).expect("json");
    let kind = body["type"].as_str().expect("a type").to_owned();
    (status, kind, text)
}

async fn still_serving(base: &str) {
    let http = reqwest::Client::new();
    let answer = http
        .post(format!("{base}/echo"))
        .json(&serde_json::json!({ "ok": true }))
        .send()
        .await
        .expect("the service still answers");
    assert_eq!(answer.status(), 200);
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413_problem() {
    let base = serve().await;
    let body = format!(r#"{{"filler":"{}"}}"#, "x".repeat(2048));
    let response = reqwest::Client::new()
        .post(format!("{base}/echo"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("answered");
    let (status, kind, _) = problem(response).await;
    assert_eq!(
        (status, kind.as_str()),
        (413, "/problems/payload-too-large")
    );
    still_serving(&base).await;
}

#[tokio::test]
async fn json_nested_past_the_parsers_limit_is_a_400_problem() {
    let base = serve().await;
    // 500 levels in 1000 bytes: under the body limit, over serde_json's depth limit (128).
    let body = format!("{}{}", "[".repeat(500), "]".repeat(500));
    let response = reqwest::Client::new()
        .post(format!("{base}/echo"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("answered");
    let (status, _, _) = problem(response).await;
    assert_eq!(status, 400);
    still_serving(&base).await;
}

#[tokio::test]
async fn a_request_running_past_the_timeout_is_a_503_problem() {
    let base = serve().await;
    let started = std::time::Instant::now();
    let response = reqwest::get(format!("{base}/slow"))
        .await
        .expect("answered");
    let (status, _, _) = problem(response).await;
    assert_eq!(status, 503);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_panic_and_an_internal_error_are_500s_that_say_nothing_of_their_cause() {
    let base = serve().await;
    for path in ["/panic", "/fails"] {
        let response = reqwest::get(format!("{base}{path}"))
            .await
            .expect("answered");
        let (status, kind, text) = problem(response).await;
        assert_eq!(
            (status, kind.as_str()),
            (500, "/problems/internal"),
            "{path}"
        );
        assert!(
            !text.contains("hunter2") && !text.contains("10.0.0.5"),
            "{path}: {text}"
        );
        assert!(
            !text.contains("panic") && !text.contains(".rs"),
            "{path}: {text}"
        );
    }
    still_serving(&base).await;
}

#[tokio::test]
async fn answers_are_not_sniffed_and_grant_no_cross_origin_access() {
    let base = serve().await;
    let http = reqwest::Client::new();
    let answer = http
        .post(format!("{base}/echo"))
        .header("origin", "https://evil.example")
        .json(&serde_json::json!({}))
        .send()
        .await
        .expect("answered");
    assert_eq!(answer.headers()["x-content-type-options"], "nosniff");
    let preflight = http
        .request(reqwest::Method::OPTIONS, format!("{base}/echo"))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .expect("answered");
    for response in [&answer, &preflight] {
        let granted: Vec<_> = response
            .headers()
            .keys()
            .filter(|name| name.as_str().starts_with("access-control-"))
            .collect();
        assert!(granted.is_empty(), "{granted:?}");
    }
    assert_ne!(preflight.status(), 200, "no preflight is approved");
}
