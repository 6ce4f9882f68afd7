//! A caller's deadline travels with its request, and the callee stops when it passes.

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::get;
use shop_http::{CallError, ServiceClient};
use shop_server::{Application, ServiceBuilder, ServiceInfo};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const INFO: ServiceInfo = ServiceInfo {
    name: "deadline-test",
    version: "0",
};

async fn serve(pages: Router) -> String {
    let app: Application = ServiceBuilder::new(INFO)
        .pages(pages)
        .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("the test service binds");
    let url = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until(std::future::pending()));
    url
}

#[tokio::test]
async fn the_callee_stops_working_when_its_callers_deadline_passes() {
    let finished = Arc::new(AtomicU64::new(0));
    let counter = finished.clone();
    let callee = serve(Router::new().route(
        "/slow",
        get(move || {
            let counter = counter.clone();
            async move {
                tokio::time::sleep(Duration::from_secs(2)).await;
                counter.fetch_add(1, Ordering::SeqCst);
                "done"
            }
        }),
    ))
    .await;

    let client = ServiceClient::new("slow-callee", &callee, Duration::from_millis(200));
    let started = Instant::now();
    let outcome = client.get_json::<serde_json::Value>("/slow").await;
    let elapsed = started.elapsed();
    // Both ends keep the same budget: the caller's timeout and the callee's 504 race.
    let gave_up = match &outcome {
        Err(CallError::Timeout { .. }) => true,
        Err(error) => error.status() == Some(http::StatusCode::GATEWAY_TIMEOUT),
        Ok(_) => false,
    };
    assert!(gave_up, "{outcome:?}");
    assert!(elapsed < Duration::from_millis(500), "{elapsed:?}");

    // Long after the handler would have finished, it has not: its work was dropped.
    tokio::time::sleep(Duration::from_millis(2300)).await;
    assert_eq!(finished.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_passed_deadline_is_a_504_problem() {
    let callee = serve(Router::new().route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(2)).await;
            "done"
        }),
    ))
    .await;
    let started = Instant::now();
    let response = reqwest::Client::new()
        .get(format!("{callee}/slow"))
        .header(shop_http::deadline::HEADER, "100")
        .send()
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_millis(500));
    assert_eq!(response.status(), 504);
    let problem: serde_json::Value = response.json().await.unwrap();
    assert_eq!(problem["type"], "/problems/deadline-exceeded");
}

#[tokio::test]
async fn each_hop_passes_on_what_is_left_minus_a_margin() {
    // The last service reports the budget it was given.
    let last = serve(Router::new().route(
        "/budget",
        get(|headers: HeaderMap| async move {
            headers
                .get(shop_http::deadline::HEADER)
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        }),
    ))
    .await;
    // The middle one calls it with a generous client timeout: the caller's deadline wins.
    let client = ServiceClient::new("last-hop", &last, Duration::from_secs(10));
    let middle = serve(Router::new().route(
        "/relay",
        get(move || {
            let client = client.clone();
            async move {
                let answer = client
                    .send_raw(client.request(reqwest::Method::GET, "/budget"))
                    .await
                    .unwrap();
                String::from_utf8_lossy(&answer.body).into_owned()
            }
        }),
    ))
    .await;

    let told = reqwest::Client::new()
        .get(format!("{middle}/relay"))
        .header(shop_http::deadline::HEADER, "500")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let budget: u64 = told.parse().unwrap();
    assert!(
        budget > 400 && budget <= 480,
        "the last hop was told {budget} ms"
    );
}

#[tokio::test]
async fn ops_dependencies_lists_each_client() {
    let client = ServiceClient::new(
        "listed-dependency",
        "http://127.0.0.1:9",
        Duration::from_secs(1),
    );
    let service = serve(Router::new()).await;
    let body: serde_json::Value = reqwest::get(format!("{service}/ops/dependencies"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let entry = body["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["dependency"] == "listed-dependency")
        .cloned()
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(entry["state"], "closed");
    assert_eq!(entry["instances"][0], "http://127.0.0.1:9");
    assert_eq!(entry["calls"], 0);
    drop(client);
}
