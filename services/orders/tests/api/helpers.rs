use orders::config::{Config, SCHEMA};
use serde_json::{Value, json};
use shop_auth::Role;
use shop_auth::testing::TestIssuer;
use shop_server::{Env, ServerConfig};
use shop_testing::{RunningService, TcpProxy, TestDatabase};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// orders under test, the real catalog it calls, their database, and a token issuer.
pub struct TestApp {
    pub service: RunningService,
    pub catalog: RunningService,
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

pub async fn spawn_app() -> TestApp {
    spawn_app_with_catalog_url(None).await
}

/// Like [`spawn_app`], but orders calls catalog at `catalog_url` when given (a closed port
/// makes catalog unreachable).
pub async fn spawn_app_with_catalog_url(catalog_url: Option<String>) -> TestApp {
    let db = TestDatabase::create().await.expect("test database");
    let issuer = TestIssuer::start().await;

    let catalog_env = Env::from_pairs([
        ("DATABASE_URL", db.url_for("catalog")),
        ("JWKS_URL", issuer.jwks_url()),
    ]);
    let mut catalog_config = catalog::config::Config::from_env(&catalog_env).expect("config");
    catalog_config.server = ServerConfig::ephemeral();
    let catalog = RunningService::spawn(
        catalog::app::build(catalog_config)
            .await
            .expect("catalog starts"),
    );

    let db_proxy = TcpProxy::start(db.server_addr()).await.expect("proxy");
    let env = Env::from_pairs([
        ("DATABASE_URL", db.url_for_via(SCHEMA, db_proxy.addr())),
        ("JWKS_URL", issuer.jwks_url()),
        (
            "CATALOG_URL",
            catalog_url.unwrap_or_else(|| catalog.base_url()),
        ),
    ]);
    let mut config = Config::from_env(&env).expect("config");
    config.server = ServerConfig::ephemeral();
    let app = orders::app::build(config).await.expect("orders starts");
    TestApp {
        service: RunningService::spawn(app),
        catalog,
        db_proxy,
        issuer,
        db,
    }
}

impl TestApp {
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

    /// Polls the order until it leaves `pending` (or 10 s pass) and returns it.
    pub async fn settled(&self, token: &str, id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
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
