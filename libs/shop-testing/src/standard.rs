//! Checks that every service's standard endpoints behave the same way.
//!
//! Each service's `tests/` calls these against itself, started on a random port, so a
//! service that breaks the shared contract fails its own test suite.

use crate::{RunningService, TcpProxy};
use std::time::{Duration, Instant};

/// `/health/live`, `/health/ready`, `/metrics`, `/openapi.json`, `/docs`, a problem+json
/// 404, and the request id echoed back.
pub async fn check_standard_endpoints(service: &RunningService) {
    let live = service.get("/health/live").await;
    assert_eq!(live.status(), 200, "/health/live");

    // Ready (200) at once; `degraded` at first only while its consumers, if any, wait for
    // their group's first assignment.
    let ready = service.get("/health/ready").await;
    assert_eq!(ready.status(), 200, "/health/ready");
    service.wait_until_ready(Duration::from_secs(30)).await;

    let spec = service.get("/openapi.json").await;
    assert_eq!(spec.status(), 200, "/openapi.json");
    let spec: serde_json::Value = spec.json().await.expect("the spec is JSON");
    assert!(
        spec["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "OpenAPI 3.1 expected, got {}",
        spec["openapi"]
    );
    assert!(
        spec["paths"]["/health/ready"].is_object(),
        "readiness is documented"
    );

    assert_eq!(service.get("/docs").await.status(), 200, "/docs");

    let missing = service
        .http
        .get(service.url("/no/such/route"))
        .header("x-request-id", "test-request-1")
        .send()
        .await
        .expect("request");
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.headers()["x-request-id"],
        "test-request-1",
        "the request id is echoed"
    );
    assert_eq!(
        missing.headers()["content-type"],
        "application/problem+json"
    );
    let problem: serde_json::Value = missing.json().await.expect("problem body");
    assert_eq!(problem["type"], "/problems/not-found");
    assert_eq!(problem["status"], 404);

    // Counted after the requests above, so the route metrics exist.
    let metrics = service.get("/metrics").await;
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.expect("metrics text");
    assert!(
        text.contains(
            "http_server_requests_total{method=\"GET\",route=\"/health/live\",status=\"200\"}"
        ),
        "per-route request counter missing from:\n{text}"
    );
    assert!(
        text.contains("http_server_request_duration_seconds_bucket"),
        "latency histogram missing"
    );
    let scrape = crate::prometheus::parse(&text)
        .unwrap_or_else(|error| panic!("/metrics is not Prometheus text: {error}\n{text}"));
    assert!(
        scrape.has_family("http_server_request_duration_seconds"),
        "latency histogram missing"
    );
}

/// With its database behind `proxy`: readiness is 200, turns 503 naming `database` when
/// the proxy cuts the database off, and returns to 200 once it is back, with no restart.
pub async fn check_readiness_follows_database(service: &RunningService, proxy: &TcpProxy) {
    assert_eq!(ready_status(service).await.0, 200, "ready at first");

    proxy.disable();
    let (status, body) = wait_for_ready_status(service, 503).await;
    assert_eq!(
        status, 503,
        "not ready while the database is unreachable: {body}"
    );
    assert_eq!(body["type"], "/problems/unavailable", "{body}");
    assert_ne!(
        body["checks"]["database"], "ok",
        "the database check is named: {body}"
    );

    proxy.enable();
    let (status, body) = wait_for_ready_status(service, 200).await;
    assert_eq!(status, 200, "ready again once the database is back: {body}");
}

/// With its database behind `proxy`, `request` (a route that reads the database) answers
/// 200; while the proxy cuts the database off it answers `503 /problems/database-unavailable`
/// with `Retry-After`, and readiness names the database; once the proxy is back the same
/// request answers 200 again, with no restart.
pub async fn check_database_outage_is_a_503<F>(
    service: &RunningService,
    proxy: &TcpProxy,
    request: F,
) where
    F: Fn() -> reqwest::RequestBuilder,
{
    let before = request().send().await.expect("request");
    assert_eq!(before.status(), 200, "the route works at first");

    proxy.disable();
    // The first request may meet a pooled connection that just broke, the next ones a pool
    // that cannot open any: both are the same outage to the client.
    for attempt in 1..=3 {
        let started = Instant::now();
        let response = request().send().await.expect("request");
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        let content_type = response.headers().get("content-type").cloned();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        assert_eq!(status, 503, "attempt {attempt} during the outage: {body}");
        assert_eq!(
            body["type"], "/problems/database-unavailable",
            "attempt {attempt}: {body}"
        );
        assert_eq!(
            content_type.as_ref().and_then(|value| value.to_str().ok()),
            Some("application/problem+json")
        );
        assert!(
            retry_after.is_some_and(|seconds| seconds > 0),
            "a Retry-After in seconds: {retry_after:?}"
        );
        // Within the pool's acquire timeout (3 s) and far from the request timeout.
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the 503 came after {:?}",
            started.elapsed()
        );
    }
    let (status, body) = wait_for_ready_status(service, 503).await;
    assert_eq!(status, 503, "readiness reports the outage: {body}");
    assert_ne!(body["checks"]["database"], "ok", "{body}");

    proxy.enable();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let status = request().send().await.expect("request").status();
        if status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the route still answers {status} 15 s after the database came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, body) = wait_for_ready_status(service, 200).await;
    assert_eq!(status, 200, "ready again: {body}");
}

async fn ready_status(service: &RunningService) -> (u16, serde_json::Value) {
    let response = service.get("/health/ready").await;
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(serde_json::Value::Null);
    (status, body)
}

/// Polls readiness until it reports `wanted` or 15 s pass; returns the last answer.
async fn wait_for_ready_status(service: &RunningService, wanted: u16) -> (u16, serde_json::Value) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, body) = ready_status(service).await;
        if status == wanted || Instant::now() > deadline {
            return (status, body);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The committed contract at `path` equals `generated`. With `UPDATE_CONTRACTS=1` (what
/// `cargo xtask openapi` sets) the file is rewritten instead.
pub fn check_contract_file(generated: &impl serde::Serialize, path: &str) {
    let generated = serde_json::to_string_pretty(generated).expect("serialisable") + "\n";
    if std::env::var("UPDATE_CONTRACTS").is_ok_and(|v| v == "1") {
        std::fs::write(path, &generated).expect("write the contract");
        return;
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "{path} differs from the contract generated by the code: run `cargo xtask openapi` \
         and commit the result if the change is intended"
    );
}
