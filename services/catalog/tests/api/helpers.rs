use catalog::app;
use catalog::config::{Config, SCHEMA};
use reqwest::{Method, Response};
use serde_json::{Value, json};
use shop_auth::Role;
use shop_auth::testing::TestIssuer;
use shop_server::{Env, ServerConfig};
use shop_testing::{RunningService, TcpProxy, TestDatabase};
use sqlx::PgPool;
use uuid::Uuid;

/// The service under test, its own database, the proxy between them, and the issuer of
/// the tokens it accepts.
pub struct TestApp {
    pub service: RunningService,
    pub db_proxy: TcpProxy,
    /// Signs tokens and serves the JWKS the service verifies them with.
    pub issuer: TestIssuer,
    /// The catalog's schema, as the service's own role: for setting up and checking state.
    pub pool: PgPool,
    /// Dropped with the test, which drops the database.
    #[allow(dead_code)]
    pub db: TestDatabase,
}

/// Starts the service, with the demo catalog seeded, on a random port against a fresh
/// database reached through a proxy.
pub async fn spawn_app() -> TestApp {
    let db = TestDatabase::create().await.expect("test database");
    let db_proxy = TcpProxy::start(db.server_addr()).await.expect("proxy");
    let issuer = TestIssuer::start().await;
    let env = Env::from_pairs([
        ("DATABASE_URL", db.url_for_via(SCHEMA, db_proxy.addr())),
        ("JWKS_URL", issuer.jwks_url()),
    ]);
    let mut config = Config::from_env(&env).expect("config");
    config.server = ServerConfig::ephemeral();
    let app = app::build(config).await.expect("the service starts");
    let pool = PgPool::connect(&db.url_for(SCHEMA))
        .await
        .expect("connect to the test database");
    TestApp {
        service: RunningService::spawn(app),
        db_proxy,
        issuer,
        pool,
        db,
    }
}

impl TestApp {
    pub fn admin_token(&self) -> String {
        self.issuer.token(Uuid::now_v7(), Role::Admin)
    }

    pub fn customer_token(&self) -> String {
        self.issuer.token(Uuid::now_v7(), Role::Customer)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.service.get(path).await
    }

    /// A request with an optional bearer token and JSON body.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Response {
        let mut request = self
            .service
            .http
            .request(method.clone(), self.service.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path} failed: {e}"))
    }

    /// Creates a product as an admin and returns it.
    pub async fn create_product(&self, body: &Value) -> Value {
        let token = self.admin_token();
        let response = self
            .send(Method::POST, "/v1/products", Some(&token), Some(body))
            .await;
        assert_eq!(response.status(), 201, "create {body}");
        response.json().await.expect("a product")
    }

    /// A product with `stock` units, created as an admin; returns its id.
    pub async fn product_with_stock(&self, sku: &str, stock: i32) -> Uuid {
        let mut body = product_body(sku);
        body["stock"] = json!(stock);
        let product = self.create_product(&body).await;
        product["id"]
            .as_str()
            .expect("an id")
            .parse()
            .expect("a uuid")
    }

    pub async fn stock_of(&self, product_id: Uuid) -> i32 {
        sqlx::query_scalar!(
            "SELECT stock FROM catalog.products WHERE id = $1",
            product_id
        )
        .fetch_one(&self.pool)
        .await
        .expect("the product's stock")
    }

    /// `POST /internal/v1/stock/reservations` with a customer's token.
    pub async fn reserve(&self, order_id: Uuid, items: Value) -> Response {
        let token = self.customer_token();
        let body = json!({ "order_id": order_id, "items": items });
        self.send(
            Method::POST,
            "/internal/v1/stock/reservations",
            Some(&token),
            Some(&body),
        )
        .await
    }

    /// `DELETE /internal/v1/stock/reservations/{order_id}` with a customer's token.
    pub async fn release(&self, order_id: Uuid) -> Response {
        let token = self.customer_token();
        self.send(
            Method::DELETE,
            &format!("/internal/v1/stock/reservations/{order_id}"),
            Some(&token),
            None,
        )
        .await
    }
}

/// A valid create (or replace) body.
pub fn product_body(sku: &str) -> Value {
    json!({
        "sku": sku,
        "name": "Lighthouse Keeper's Thermos",
        "description": "Keeps soup hot through a long night watch on the breakwater.",
        "category_slug": "outdoor",
        "price": { "amount_minor": 2990, "currency": "EUR" },
        "stock": 12,
        "image_url": format!("/images/products/{sku}.svg"),
    })
}

/// The body of a problem+json response with this status.
pub async fn problem(response: Response, status: u16) -> Value {
    assert_eq!(response.status(), status, "status");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.expect("problem json");
    assert_eq!(body["status"], status, "{body}");
    body
}

/// The fields a validation problem names.
pub async fn invalid_fields(response: Response) -> Vec<String> {
    let body = problem(response, 422).await;
    assert_eq!(body["type"], "/problems/validation", "{body}");
    body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|error| error["field"].as_str().expect("a field").to_owned())
        .collect()
}
