use {{name}}::config::{Config, SCHEMA};
use reqwest::{RequestBuilder, Response};
use shop_auth::Role;
use shop_auth::testing::TestIssuer;
use shop_events::{Envelope, KafkaConfig};
use shop_server::{Env, ServerConfig};
use shop_testing::{RunningService, TcpProxy, TestDatabase};
use sqlx::PgPool;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// The service under test, its own database, the proxy between them, and a token issuer.
pub struct TestApp {
    pub service: RunningService,
    pub db_proxy: TcpProxy,
    /// The service's schema, reached directly as its role.
    pub pool: PgPool,
    pub issuer: TestIssuer,
    /// The broker and the topic prefix of this test: where [`TestApp::publish`] sends.
    pub kafka: KafkaConfig,
    /// Dropped with the test, which drops the database.
    #[allow(dead_code)]
    pub db: TestDatabase,
}

/// Starts the service on a random port, against a fresh database reached through a proxy
/// (which a test can cut), with topics of its own on the test broker.
pub async fn spawn_app() -> TestApp {
    let db = TestDatabase::create().await.expect("test database");
    let db_proxy = TcpProxy::start(db.server_addr()).await.expect("proxy");
    let issuer = TestIssuer::start().await;
    let env = Env::from_pairs([
        ("DATABASE_URL", db.url_for_via(SCHEMA, db_proxy.addr())),
        ("JWKS_URL", issuer.jwks_url()),
        ("KAFKA_BROKERS", shop_testing::kafka_brokers()),
    ]);
    let mut config = Config::from_env(&env).expect("config");
    config.server = ServerConfig::ephemeral();
    config.kafka.topic_prefix = shop_testing::unique_topic_prefix();
    let kafka = config.kafka.clone();
    let app = {{name}}::app::build(config)
        .await
        .expect("the service starts");
    let pool = PgPool::connect(&db.url_for(SCHEMA))
        .await
        .expect("the service's schema");
    TestApp {
        service: RunningService::spawn(app),
        db_proxy,
        pool,
        issuer,
        kafka,
        db,
    }
}

/// How long a test waits for what should happen within a second or two.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// Waits until `condition` holds, for at most [`PATIENCE`].
pub async fn eventually(what: &str, mut condition: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !condition().await {
        assert!(Instant::now() < deadline, "{what}: not within {PATIENCE:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl TestApp {
    /// A customer's token.
    pub fn customer(&self) -> (Uuid, String) {
        let user_id = Uuid::new_v4();
        (user_id, self.issuer.token(user_id, Role::Customer))
    }

    /// `PUT /v1/{{name}}/{product_id}` with `body`.
    pub fn save(&self, token: &str, product_id: Uuid, body: serde_json::Value) -> RequestBuilder {
        let url = self.service.url(&format!("/v1/{{name}}/{product_id}"));
        self.service.http.put(url).bearer_auth(token).json(&body)
    }

    /// `DELETE /v1/{{name}}/{product_id}`.
    pub fn remove(&self, token: &str, product_id: Uuid) -> RequestBuilder {
        let url = self.service.url(&format!("/v1/{{name}}/{product_id}"));
        self.service.http.delete(url).bearer_auth(token)
    }

    /// `GET /v1/{{name}}`.
    pub fn list(&self, token: &str) -> RequestBuilder {
        self.service
            .http
            .get(self.service.url("/v1/{{name}}"))
            .bearer_auth(token)
    }

    /// The product ids on the list of `token`'s customer, in the order the service gives.
    pub async fn listed(&self, token: &str) -> Vec<Uuid> {
        let list: serde_json::Value = send(self.list(token), 200).await.json().await.expect("JSON");
        let items = list["items"].as_array().expect("a list of items");
        items
            .iter()
            .map(|item| item["product_id"].as_str().expect("an id").parse().expect("a uuid"))
            .collect()
    }

    /// Whether the consumer has processed the event `event_id` (its mark is committed with
    /// its effects).
    pub async fn processed(&self, event_id: Uuid) -> bool {
        let marks: i64 =
            sqlx::query_scalar("SELECT count(*) FROM processed_events WHERE event_id = $1")
                .bind(event_id)
                .fetch_one(&self.pool)
                .await
                .expect("processed_events");
        marks == 1
    }

    /// Publishes `envelope` to its topic, as the producing service's relay would.
    pub async fn publish(&self, envelope: &Envelope) {
        let payload = envelope.to_json().expect("JSON");
        let topic = self.kafka.topic(envelope.topic());
        shop_testing::publish(&self.kafka.brokers, &topic, &envelope.key(), &payload).await;
    }
}

/// Sends `request` and checks the answer's status.
pub async fn send(request: RequestBuilder, status: u16) -> Response {
    let response = request.send().await.expect("the service answers");
    assert_eq!(response.status(), status, "{:?}", response.url().path());
    response
}
