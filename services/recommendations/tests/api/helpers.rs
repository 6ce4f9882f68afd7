use recommendations::config::{Config, SCHEMA};
use recommendations::db;
use recommendations::domain::{HalfLife, OrderLine};
use reqwest::StatusCode;
use serde_json::Value;
use shop_auth::Role;
use shop_auth::testing::TestIssuer;
use shop_events::{Envelope, KafkaConfig};
use shop_server::{Env, ServerConfig};
use shop_testing::{RunningService, TcpProxy, TestDatabase};
use sqlx::PgPool;
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use uuid::Uuid;

/// The service under test, its own database, the proxy between them, and a token issuer.
pub struct TestApp {
    pub service: RunningService,
    pub db_proxy: TcpProxy,
    /// The service's schema, reached directly as its role: still there when the proxy
    /// cuts the service off.
    pub pool: PgPool,
    pub issuer: TestIssuer,
    /// The broker and the topic prefix of this test: where [`TestApp::publish`] sends.
    pub kafka: KafkaConfig,
    /// Dropped with the test, which drops the database.
    #[allow(dead_code)]
    pub db: TestDatabase,
}

/// An answer: the status and the JSON body.
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn source(&self) -> &str {
        self.body["source"].as_str().unwrap_or_default()
    }

    /// The recommended product ids, in order.
    pub fn products(&self) -> Vec<Uuid> {
        self.items()
            .map(|item| {
                let id = item["product_id"].as_str().expect("a product_id");
                id.parse().expect("a uuid")
            })
            .collect()
    }

    pub fn scores(&self) -> Vec<f64> {
        self.items()
            .map(|item| item["score"].as_f64().expect("a numeric score"))
            .collect()
    }

    fn items(&self) -> impl Iterator<Item = &Value> {
        let items = self.body["items"].as_array();
        items.expect("a list of items").iter()
    }

    /// The fields named by a validation problem.
    pub fn invalid_fields(&self) -> Vec<&str> {
        assert_eq!(self.status, 422, "{}", self.body);
        assert_eq!(self.body["type"], "/problems/validation", "{}", self.body);
        let errors = self.body["errors"].as_array().expect("a list of errors");
        errors
            .iter()
            .map(|error| error["field"].as_str().expect("a field name"))
            .collect()
    }
}

/// Starts the service with no static list.
pub async fn spawn_app() -> TestApp {
    spawn_app_with_static(&[]).await
}

/// Starts the service on a random port, against a fresh database reached through a proxy,
/// with `static_products` as its static list and topics of its own on the test broker.
pub async fn spawn_app_with_static(static_products: &[Uuid]) -> TestApp {
    spawn_app_with(static_products, &shop_testing::kafka_brokers()).await
}

/// Like [`spawn_app_with_static`], with the broker at `brokers`.
pub async fn spawn_app_with(static_products: &[Uuid], brokers: &str) -> TestApp {
    let db = TestDatabase::create().await.expect("test database");
    let db_proxy = TcpProxy::start(db.server_addr()).await.expect("proxy");
    let issuer = TestIssuer::start().await;
    let static_list: Vec<String> = static_products.iter().map(Uuid::to_string).collect();
    let env = Env::from_pairs([
        ("DATABASE_URL", db.url_for_via(SCHEMA, db_proxy.addr())),
        ("JWKS_URL", issuer.jwks_url()),
        ("STATIC_RECOMMENDATIONS", static_list.join(",")),
        ("KAFKA_BROKERS", brokers.to_owned()),
    ]);
    let mut config = Config::from_env(&env).expect("config");
    config.server = ServerConfig::ephemeral();
    config.kafka.topic_prefix = shop_testing::unique_topic_prefix();
    let kafka = config.kafka.clone();
    let app = recommendations::app::build(config)
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

impl TestApp {
    /// Another replica of the service on the same database (through the same proxy) and
    /// topics, with `env` on top of the first one's settings: a canary beside it.
    pub async fn spawn_replica(&self, env: &[(&str, &str)]) -> RunningService {
        let mut pairs = vec![
            (
                "DATABASE_URL".to_owned(),
                self.db.url_for_via(SCHEMA, self.db_proxy.addr()),
            ),
            ("JWKS_URL".to_owned(), self.issuer.jwks_url()),
            ("KAFKA_BROKERS".to_owned(), self.kafka.brokers.clone()),
        ];
        pairs.extend(env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        let mut config = Config::from_env(&Env::from_pairs(pairs)).expect("config");
        config.server = ServerConfig::ephemeral();
        config.kafka.topic_prefix = self.kafka.topic_prefix.clone();
        let app = recommendations::app::build(config)
            .await
            .expect("the replica starts");
        RunningService::spawn(app)
    }
}

/// A fresh database with the service's migrations, without the service: for the
/// queries alone.
pub async fn migrated_database() -> (TestDatabase, PgPool) {
    let db = TestDatabase::create().await.expect("test database");
    let pool = PgPool::connect(&db.url_for(SCHEMA))
        .await
        .expect("the service's schema");
    db::MIGRATOR.run(&pool).await.expect("migrations");
    (db, pool)
}

/// Records, now, an order of `user_id` with one of each product, as the consumer does
/// for an `OrderConfirmed` event.
pub async fn record_order(pool: &PgPool, user_id: Uuid, products: &[Uuid]) {
    record_order_at(pool, user_id, products, OffsetDateTime::now_utc()).await;
}

pub async fn record_order_at(pool: &PgPool, user_id: Uuid, products: &[Uuid], at: OffsetDateTime) {
    let lines: Vec<OrderLine> = products
        .iter()
        .map(|&product_id| OrderLine {
            product_id,
            quantity: 1,
        })
        .collect();
    let mut conn = pool.acquire().await.expect("a connection");
    db::record_purchase(&mut conn, user_id, &lines, at, HalfLife::DEFAULT)
        .await
        .expect("purchase recorded");
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

/// An address where nothing listens.
pub fn closed_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").to_string()
}

/// `n` product ids, in ascending order (the order ties are broken in).
pub fn products(n: u128) -> Vec<Uuid> {
    let base = Uuid::new_v4().as_u128() & !0xffff;
    (1..=n).map(|i| Uuid::from_u128(base + i)).collect()
}

impl TestApp {
    /// Publishes `envelope` to its topic, as the producing service's relay would.
    pub async fn publish(&self, envelope: &Envelope) {
        let payload = envelope.to_json().expect("JSON");
        let topic = self.kafka.topic(envelope.topic());
        shop_testing::publish(&self.kafka.brokers, &topic, &envelope.key(), &payload).await;
    }

    /// The current value of a counter on `/metrics` (0 before its first increment).
    pub async fn counter(&self, name: &str, labels: &str) -> f64 {
        let metrics = self
            .service
            .get("/metrics")
            .await
            .text()
            .await
            .expect("metrics");
        let series = format!("{name}{{{labels}}} ");
        metrics
            .lines()
            .find_map(|line| line.strip_prefix(&series))
            .map_or(0.0, |value| value.parse().expect("a number"))
    }

    /// `GET /v1/recommendations?{query}`, with `token` as bearer when given.
    pub async fn recommendations(&self, query: &str, token: Option<&str>) -> Answer {
        let mut request = self
            .service
            .http
            .get(self.service.url(&format!("/v1/recommendations?{query}")));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("the service answers");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.json().await.expect("a JSON body");
        Answer {
            status,
            headers,
            body,
        }
    }

    /// A recommendation request anyone may make; it must succeed.
    pub async fn recommend(&self, query: &str) -> Answer {
        let answer = self.recommendations(query, None).await;
        assert_eq!(answer.status, 200, "{query}: {}", answer.body);
        answer
    }

    /// Personalized recommendations for `user_id`, asked with their own token.
    pub async fn recommend_for(&self, user_id: Uuid, query: &str) -> Answer {
        let token = self.issuer.token(user_id, Role::Customer);
        let query = format!("user_id={user_id}&{query}");
        let answer = self.recommendations(&query, Some(&token)).await;
        assert_eq!(answer.status, 200, "{query}: {}", answer.body);
        answer
    }
}
