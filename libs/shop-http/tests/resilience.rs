//! The client's resilience against real HTTP servers that fail, refuse or sleep on demand.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::any;
use shop_http::{BreakerSettings, BreakerState, BudgetSettings, CallError, ClientSettings};
use shop_http::{ServiceClient, deadline};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

const OK: u8 = 0;
const FAIL: u8 = 1;
const SLOW: u8 = 2;

/// A server that answers 200, 503 or after a long sleep, as the test says, and counts the
/// requests it received and the ones it finished.
#[derive(Clone, Default)]
struct Flaky {
    mode: Arc<AtomicU8>,
    hits: Arc<AtomicU64>,
    finished: Arc<AtomicU64>,
}

impl Flaky {
    async fn start() -> (Self, String) {
        let flaky = Self::default();
        let app = Router::new()
            .fallback(any(answer))
            .with_state(flaky.clone());
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("its address"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        (flaky, url)
    }

    fn set(&self, mode: u8) {
        self.mode.store(mode, Ordering::SeqCst);
    }

    fn hits(&self) -> u64 {
        self.hits.load(Ordering::SeqCst)
    }
}

async fn answer(State(flaky): State<Flaky>, headers: HeaderMap) -> (StatusCode, String) {
    flaky.hits.fetch_add(1, Ordering::SeqCst);
    let deadline = headers
        .get(deadline::HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let status = match flaky.mode.load(Ordering::SeqCst) {
        FAIL => StatusCode::SERVICE_UNAVAILABLE,
        SLOW => {
            tokio::time::sleep(Duration::from_secs(2)).await;
            StatusCode::OK
        }
        _ => StatusCode::OK,
    };
    flaky.finished.fetch_add(1, Ordering::SeqCst);
    (status, deadline)
}

/// No retries, so each call is one attempt the breaker sees.
fn without_retries(timeout: Duration) -> ClientSettings {
    let mut settings = ClientSettings::new(timeout);
    settings.retry_budget = BudgetSettings {
        ratio: 0.0,
        min_per_sec: 0,
        window: Duration::from_secs(60),
    };
    settings
}

async fn closed_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("its address"));
    drop(listener);
    url
}

#[tokio::test]
async fn the_breaker_opens_fails_fast_probes_and_closes() {
    let (server, url) = Flaky::start().await;
    let mut settings = without_retries(Duration::from_secs(2));
    settings.breaker = BreakerSettings {
        failure_rate: 0.5,
        minimum_calls: 4,
        window: Duration::from_secs(10),
        cool_down: Duration::from_millis(300),
    };
    let client = ServiceClient::with_settings("breaker-test", &[&url], settings);
    let get = || client.get_json::<serde_json::Value>("/thing");

    // closed → open: four failures out of four calls.
    server.set(FAIL);
    for _ in 0..4 {
        assert_eq!(
            get().await.unwrap_err().status(),
            Some(StatusCode::SERVICE_UNAVAILABLE)
        );
    }
    assert_eq!(client.breaker_state(), BreakerState::Open);

    // open: fails at once, without a request reaching the server.
    let before = server.hits();
    let started = Instant::now();
    assert!(matches!(get().await, Err(CallError::CircuitOpen { .. })));
    assert!(started.elapsed() < Duration::from_millis(100));
    assert_eq!(server.hits(), before);

    // open → half-open → open: the probe fails.
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(client.breaker_state(), BreakerState::HalfOpen);
    assert!(
        get().await.unwrap_err().status().is_some(),
        "the probe reached the server"
    );
    assert_eq!(server.hits(), before + 1);
    assert_eq!(client.breaker_state(), BreakerState::Open);

    // open → half-open → closed: the probe succeeds.
    server.set(OK);
    tokio::time::sleep(Duration::from_millis(350)).await;
    get().await.expect("the probe succeeds");
    assert_eq!(client.breaker_state(), BreakerState::Closed);
    get().await.expect("closed again");

    let report = client.report();
    assert_eq!(report.short_circuited, 1);
    assert_eq!(report.failures, 5);
    let listed = shop_http::dependencies();
    assert!(listed.iter().any(|entry| entry == &report), "{listed:?}");
}

#[tokio::test]
async fn a_post_is_never_retried() {
    let (server, url) = Flaky::start().await;
    server.set(FAIL);
    let client = ServiceClient::new("post-test", &url, Duration::from_secs(2));
    let answer = client
        .send_raw(client.request(reqwest::Method::POST, "/orders"))
        .await
        .unwrap();
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(server.hits(), 1);
    assert_eq!(client.report().retries, 0);
}

#[tokio::test]
async fn a_get_is_retried_once_and_on_another_instance() {
    let (first, first_url) = Flaky::start().await;
    let (second, second_url) = Flaky::start().await;
    let client = ServiceClient::with_instances(
        "retry-test",
        &[&first_url, &second_url],
        Duration::from_secs(2),
    );
    // Both fail: one retry, never to the instance that just failed.
    first.set(FAIL);
    second.set(FAIL);
    let error = client
        .get_json::<serde_json::Value>("/x")
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    assert_eq!((first.hits(), second.hits()), (1, 1), "one attempt each");

    // One fails: whichever is tried first, the call succeeds.
    second.set(OK);
    for _ in 0..2 {
        client
            .get_json::<serde_json::Value>("/x")
            .await
            .expect("retried on the healthy one");
    }
    assert_eq!(client.report().retries, 2);
}

#[tokio::test]
async fn a_full_bulkhead_fails_fast() {
    let (server, url) = Flaky::start().await;
    server.set(SLOW);
    let mut settings = ClientSettings::new(Duration::from_secs(5));
    settings.max_concurrent = 2;
    let client = ServiceClient::with_settings("bulkhead-test", &[&url], settings);
    let busy: Vec<_> = (0..2)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.get_json::<serde_json::Value>("/slow").await })
        })
        .collect();
    // Let both take their place.
    while server.hits() < 2 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let started = Instant::now();
    let third = client.get_json::<serde_json::Value>("/slow").await;
    assert!(
        matches!(third, Err(CallError::Saturated { .. })),
        "{third:?}"
    );
    assert!(started.elapsed() < Duration::from_millis(100));
    assert_eq!(client.report().in_flight, 2);
    busy.into_iter().for_each(|task| task.abort());
}

#[tokio::test]
async fn the_retry_budget_caps_retries_during_a_total_outage() {
    let (down_a, down_b) = (closed_url().await, closed_url().await);
    let mut settings = ClientSettings::new(Duration::from_secs(1));
    settings.retry_backoff = Duration::from_millis(1);
    // Keep the breaker out of it: only the budget limits retries here.
    settings.breaker.minimum_calls = usize::MAX;
    let client = ServiceClient::with_settings("budget-test", &[&down_a, &down_b], settings);
    for _ in 0..100 {
        let outcome = client.get_json::<serde_json::Value>("/").await;
        assert!(
            matches!(outcome, Err(CallError::Unreachable { .. })),
            "{outcome:?}"
        );
    }
    let report = client.report();
    assert_eq!(report.calls, 100);
    // The floor (1 per second over the 10-s window) plus 10 % of the requests.
    assert!(report.retries <= 10 + 10, "{} retries", report.retries);
    assert!(report.retries >= 10, "the floor is usable");
}

#[tokio::test]
async fn a_call_stops_at_its_timeout_and_sends_its_budget() {
    let (server, url) = Flaky::start().await;
    server.set(SLOW);
    let client = ServiceClient::new("deadline-test", &url, Duration::from_millis(200));
    let started = Instant::now();
    let outcome = client.get_json::<serde_json::Value>("/slow").await;
    let elapsed = started.elapsed();
    assert!(
        matches!(outcome, Err(CallError::Timeout { .. })),
        "{outcome:?}"
    );
    assert!(
        elapsed >= Duration::from_millis(190) && elapsed < Duration::from_millis(500),
        "{elapsed:?}"
    );

    // Inside a request with 300 ms left, the callee is told less than that.
    server.set(OK);
    let patient = ServiceClient::new("deadline-test", &url, Duration::from_secs(10));
    let deadline = Instant::now() + Duration::from_millis(300);
    let sent = deadline::scope(deadline, async {
        patient
            .send_raw(patient.request(reqwest::Method::GET, "/budget"))
            .await
    })
    .await
    .unwrap();
    let budget: u64 = std::str::from_utf8(&sent.body).unwrap().parse().unwrap();
    assert!(budget > 200 && budget <= 280, "told {budget} ms");
}
