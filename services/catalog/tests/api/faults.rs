//! Fault injection: off by default, admins only, and a client's breaker notices it.

use crate::helpers::spawn_app;
use catalog::config::{Config, SCHEMA};
use reqwest::StatusCode;
use serde_json::{Value, json};
use shop_auth::Role;
use shop_auth::testing::TestIssuer;
use shop_http::{BreakerState, CallError, ClientSettings, ServiceClient};
use shop_server::{Env, ServerConfig};
use shop_testing::{RunningService, TestDatabase};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// The catalog with `FAULTS_ENABLED=true`.
struct Chaotic {
    service: RunningService,
    issuer: TestIssuer,
    #[allow(dead_code)]
    db: TestDatabase,
}

impl Chaotic {
    async fn start() -> Self {
        let db = TestDatabase::create().await.expect("test database");
        let issuer = TestIssuer::start().await;
        let env = Env::from_pairs([
            ("DATABASE_URL", db.url_for(SCHEMA)),
            ("JWKS_URL", issuer.jwks_url()),
            ("KAFKA_BROKERS", shop_testing::kafka_brokers()),
            ("FAULTS_ENABLED", "true".to_owned()),
        ]);
        let mut config = Config::from_env(&env).expect("config");
        config.server = ServerConfig::ephemeral();
        config.kafka.topic_prefix = shop_testing::unique_topic_prefix();
        let app = catalog::app::build(config)
            .await
            .expect("the service starts");
        Self {
            service: RunningService::spawn(app),
            issuer,
            db,
        }
    }

    async fn faults(
        &self,
        method: reqwest::Method,
        role: Option<Role>,
        body: Value,
    ) -> reqwest::Response {
        let mut request = self
            .service
            .http
            .request(method, self.service.url("/ops/faults"))
            .json(&body);
        if let Some(role) = role {
            request = request.bearer_auth(self.issuer.token(Uuid::now_v7(), role));
        }
        request.send().await.expect("an answer")
    }
}

#[tokio::test]
async fn fault_injection_is_off_by_default() {
    let app = spawn_app().await;
    let response = app
        .service
        .http
        .put(app.service.url("/ops/faults"))
        .bearer_auth(app.admin_token())
        .json(&json!({"route_pattern": "*", "error_rate": 1.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn only_an_admin_injects_faults() {
    let chaotic = Chaotic::start().await;
    let fault = json!({"route_pattern": "*", "error_rate": 1.0});
    let anonymous = chaotic
        .faults(reqwest::Method::PUT, None, fault.clone())
        .await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let customer = chaotic
        .faults(reqwest::Method::PUT, Some(Role::Customer), fault)
        .await;
    assert_eq!(customer.status(), StatusCode::FORBIDDEN);
    let invalid = chaotic
        .faults(
            reqwest::Method::PUT,
            Some(Role::Admin),
            json!({"route_pattern": "*", "error_rate": 2}),
        )
        .await;
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(chaotic.service.get("/v1/products").await.status(), 200);
}

#[tokio::test]
async fn half_the_requests_failing_opens_a_clients_breaker() {
    let chaotic = Chaotic::start().await;
    let injected = chaotic
        .faults(
            reqwest::Method::PUT,
            Some(Role::Admin),
            json!({"route_pattern": "/v1/products", "error_rate": 0.5}),
        )
        .await;
    assert_eq!(injected.status(), StatusCode::OK);

    // The default breaker opens at 50 % failures: against 50 % injected that is a coin flip
    // at each call. A 30 % threshold makes the test certain, and shows the same thing.
    let mut settings = ClientSettings::new(Duration::from_secs(2));
    settings.breaker.failure_rate = 0.3;
    let client = ServiceClient::with_settings(
        "catalog-under-chaos",
        &[&chaotic.service.base_url()],
        settings,
    );
    let mut calls = 0;
    while client.breaker_state() != BreakerState::Open && calls < 300 {
        let _ = client.get_json::<Value>("/v1/products?per_page=1").await;
        calls += 1;
    }
    assert_eq!(
        client.breaker_state(),
        BreakerState::Open,
        "after {calls} calls"
    );

    // Open: the next call fails at once instead of waiting for an answer.
    let started = Instant::now();
    let outcome = client.get_json::<Value>("/v1/products?per_page=1").await;
    assert!(
        matches!(outcome, Err(CallError::CircuitOpen { .. })),
        "{outcome:?}"
    );
    assert!(started.elapsed() < Duration::from_millis(100));

    let cleared = chaotic
        .faults(reqwest::Method::DELETE, Some(Role::Admin), json!({}))
        .await;
    assert_eq!(cleared.status(), StatusCode::NO_CONTENT);
    let left: Value = chaotic
        .faults(reqwest::Method::GET, Some(Role::Admin), json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(left, json!([]));
}

#[tokio::test]
async fn latency_and_failing_readiness_can_be_injected() {
    let chaotic = Chaotic::start().await;
    let injected = chaotic
        .faults(
            reqwest::Method::PUT,
            Some(Role::Admin),
            json!({"route_pattern": "/v1/categories*", "latency_ms": 300, "fail_readiness": true}),
        )
        .await;
    assert_eq!(injected.status(), StatusCode::OK);

    let started = Instant::now();
    assert_eq!(chaotic.service.get("/v1/categories").await.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    let fast = Instant::now();
    assert_eq!(chaotic.service.get("/v1/products").await.status(), 200);
    assert!(
        fast.elapsed() < Duration::from_millis(300),
        "other routes are untouched"
    );

    let ready = chaotic.service.get("/health/ready").await;
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let problem: Value = ready.json().await.unwrap();
    assert_eq!(
        problem["checks"]["faults"],
        "failing on purpose (an injected fault)"
    );
}
