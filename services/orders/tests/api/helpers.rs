use orders::config::{Config, SCHEMA};
use serde_json::{Value, json};
use shop_auth::Role;
use shop_auth::testing::TestIssuer;
use shop_server::{Env, ServerConfig};
use shop_testing::{RunningService, TcpProxy, TestDatabase, kafka_brokers, unique_topic_prefix};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// orders under test, the real catalog it works with, their database, and a token issuer.
///
/// Both services share the broker (`brokers`) under topics of this test's own (`topic_prefix`).
pub struct TestApp {
    pub service: RunningService,
    pub catalog: RunningService,
    /// What started them, to start them again (`restart_orders`, `restart_catalog`).
    pub config: Config,
    pub catalog_config: catalog::config::Config,
    pub brokers: String,
    pub topic_prefix: String,
    pub db_proxy: TcpProxy,
    pub issuer: TestIssuer,
    /// Dropped with the test, which drops the database.
    #[allow(dead_code)]
    pub db: TestDatabase,
}

/// A customer with a token.
pub struct Customer {
    pub id: Uuid,
    pub token: String,
}

/// How to start the services of a test.
#[derive(Default)]
pub struct Options {
    /// Where orders calls catalog over HTTP (a closed port makes it unreachable).
    pub catalog_url: Option<String>,
    /// The broker's address (default: the shared one).
    pub brokers: Option<String>,
    /// `ORDER_PENDING_TIMEOUT_MS` (default: the service's).
    pub pending_timeout_ms: Option<u64>,
    /// `ORDER_RECONCILE_AFTER_MS` (default: the service's).
    pub reconcile_after_ms: Option<u64>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

pub async fn spawn_app_with(options: Options) -> TestApp {
    let db = TestDatabase::create().await.expect("test database");
    let issuer = TestIssuer::start().await;
    let brokers = options.brokers.unwrap_or_else(kafka_brokers);
    let topic_prefix = unique_topic_prefix();
    let kafka = [
        ("KAFKA_BROKERS", brokers.clone()),
        ("KAFKA_TOPIC_PARTITIONS", "2".to_owned()),
    ];

    let catalog_env = Env::from_pairs(
        [
            ("DATABASE_URL", db.url_for("catalog")),
            ("JWKS_URL", issuer.jwks_url()),
        ]
        .into_iter()
        .chain(kafka.clone()),
    );
    let mut catalog_config = catalog::config::Config::from_env(&catalog_env).expect("config");
    catalog_config.server = ServerConfig::ephemeral();
    catalog_config.kafka.topic_prefix = topic_prefix.clone();
    let catalog = RunningService::spawn(
        catalog::app::build(catalog_config.clone())
            .await
            .expect("catalog starts"),
    );
    // Started again, each service listens where it did.
    catalog_config.server.listen_addr = catalog.addr;

    let db_proxy = TcpProxy::start(db.server_addr()).await.expect("proxy");
    let env = Env::from_pairs(
        [
            ("DATABASE_URL", db.url_for_via(SCHEMA, db_proxy.addr())),
            ("JWKS_URL", issuer.jwks_url()),
            (
                "CATALOG_URL",
                options.catalog_url.unwrap_or_else(|| catalog.base_url()),
            ),
        ]
        .into_iter()
        .chain(kafka),
    );
    let mut config = Config::from_env(&env).expect("config");
    if let Some(ms) = options.pending_timeout_ms {
        config.pending_timeout = Duration::from_millis(ms);
    }
    if let Some(ms) = options.reconcile_after_ms {
        config.reconcile_after = Duration::from_millis(ms);
    }
    config.server = ServerConfig::ephemeral();
    config.kafka.topic_prefix = topic_prefix.clone();
    let service = RunningService::spawn(
        orders::app::build(config.clone())
            .await
            .expect("orders starts"),
    );
    config.server.listen_addr = service.addr;
    TestApp {
        service,
        catalog,
        config,
        catalog_config,
        brokers,
        topic_prefix,
        db_proxy,
        issuer,
        db,
    }
}

impl TestApp {
    /// Starts orders again, on its database and at its address, after `service.stop()`.
    pub async fn restart_orders(&mut self) {
        self.service.stop().await;
        let app = orders::app::build(self.config.clone())
            .await
            .expect("orders starts again");
        self.service = RunningService::spawn(app);
    }

    /// Starts catalog again, on its database and at its address, after `catalog.stop()`.
    pub async fn restart_catalog(&mut self) {
        self.catalog.stop().await;
        let app = catalog::app::build(self.catalog_config.clone())
            .await
            .expect("catalog starts again");
        self.catalog = RunningService::spawn(app);
    }

    pub fn customer(&self) -> Customer {
        let id = Uuid::new_v4();
        Customer {
            id,
            token: self.issuer.token(id, Role::Customer),
        }
    }

    pub fn admin_token(&self) -> String {
        self.issuer.token(Uuid::new_v4(), Role::Admin)
    }

    /// `POST /v1/orders` as `token` with `key`.
    pub async fn place(&self, token: &str, key: &str, body: &Value) -> reqwest::Response {
        self.service
            .http
            .post(self.service.url("/v1/orders"))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn get_as(&self, token: &str, path: &str) -> reqwest::Response {
        self.service
            .http
            .get(self.service.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    pub async fn cancel(&self, token: &str, id: &str) -> reqwest::Response {
        self.service
            .http
            .post(self.service.url(&format!("/v1/orders/{id}/cancel")))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    /// Seeded catalog products (cheapest first isn't guaranteed: as catalog lists them).
    pub async fn products(&self) -> Vec<Value> {
        let page: Value = self
            .catalog
            .get("/v1/products?per_page=100")
            .await
            .json()
            .await
            .expect("products");
        page["items"].as_array().cloned().unwrap_or_default()
    }

    pub async fn stock_of(&self, product_id: &str) -> i64 {
        let product: Value = self
            .catalog
            .get(&format!("/v1/products/{product_id}"))
            .await
            .json()
            .await
            .expect("product");
        product["stock"].as_i64().expect("stock")
    }

    /// Polls the order until it leaves `pending` (or 30 s pass) and returns it.
    pub async fn settled(&self, token: &str, id: &str) -> Value {
        self.settled_within(Duration::from_secs(30), token, id)
            .await
    }

    /// Like [`settled`](Self::settled), with the patience given.
    pub async fn settled_within(&self, patience: Duration, token: &str, id: &str) -> Value {
        let deadline = Instant::now() + patience;
        loop {
            let order: Value = self
                .get_as(token, &format!("/v1/orders/{id}"))
                .await
                .json()
                .await
                .expect("order");
            if order["status"] != "pending" || Instant::now() > deadline {
                return order;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

pub fn one_of(product_id: &Value, quantity: u32) -> Value {
    json!({ "items": [{ "product_id": product_id, "quantity": quantity }] })
}

pub fn new_key() -> String {
    Uuid::new_v4().to_string()
}

/// Polls `condition` every 100 ms until it holds; panics naming `what` after `patience`.
pub async fn eventually<F, Fut>(patience: Duration, what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + patience;
    while !condition().await {
        assert!(Instant::now() < deadline, "gave up waiting: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
