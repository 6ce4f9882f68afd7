use reqwest::Response;
use serde_json::{Value, json};
use shop_auth::testing::TestIssuer;
use shop_events::KafkaConfig;
use shop_server::{Env, ServerConfig};
use shop_testing::{RunningService, TcpProxy, TestDatabase};
use users::app;
use users::config::{Config, SCHEMA};
use uuid::Uuid;

/// The admin account every test app is configured with.
pub const ADMIN_EMAIL: &str = "admin@harbor.shop";
pub const ADMIN_PASSWORD: &str = "admin-test-password";

/// A password that meets the policy.
pub const PASSWORD: &str = "correct horse battery";

/// The service under test, its own database, the proxy between them, and the issuer whose
/// key the service signs with (so the issuer can mint tokens the service trusts, and
/// forgeries that differ from them in one respect only).
pub struct TestApp {
    pub service: RunningService,
    pub db_proxy: TcpProxy,
    pub issuer: TestIssuer,
    /// The broker and the topic prefix the service publishes with.
    pub kafka: KafkaConfig,
    /// Dropped with the test, which drops the database.
    pub db: TestDatabase,
}

/// Starts the service on a random port, against a fresh database reached through a proxy,
/// signing with the key of a fresh [`TestIssuer`], with an admin account configured.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// [`spawn_app`] with these settings besides.
pub async fn spawn_app_with(settings: &[(&str, String)]) -> TestApp {
    let issuer = TestIssuer::start().await;
    let db = TestDatabase::create().await.expect("test database");
    let db_proxy = TcpProxy::start(db.server_addr()).await.expect("proxy");
    let mut all = vec![
        ("DATABASE_URL", db.url_for_via(SCHEMA, db_proxy.addr())),
        ("JWT_PRIVATE_KEY_PEM", issuer.private_key_pem()),
        ("ADMIN_PASSWORD", ADMIN_PASSWORD.to_owned()),
        // The test client, and the proxy `sign_in_from` says the request came through.
        ("TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8".to_owned()),
    ];
    all.extend(settings.iter().cloned());
    let config = config(&all).expect("config");
    let kafka = config.kafka.clone();
    let service = RunningService::spawn(app::build(config).await.expect("the service starts"));
    TestApp {
        service,
        db_proxy,
        issuer,
        kafka,
        db,
    }
}

/// Starts the service with exactly these settings, on a random port.
pub async fn start(settings: &[(&str, String)]) -> anyhow::Result<RunningService> {
    Ok(RunningService::spawn(app::build(config(settings)?).await?))
}

/// The configuration these settings make, on a random port, with the test broker and
/// topics no other test uses.
pub fn config(settings: &[(&str, String)]) -> anyhow::Result<Config> {
    let broker = [("KAFKA_BROKERS", shop_testing::kafka_brokers())];
    let env = Env::from_pairs(broker.into_iter().chain(settings.iter().cloned()));
    let mut config = Config::from_env(&env)?;
    // On a free port; the HTTP settings (TRUSTED_PROXIES among them) as configured.
    config.server.listen_addr = ServerConfig::ephemeral().listen_addr;
    config.kafka.topic_prefix = shop_testing::unique_topic_prefix();
    Ok(config)
}

impl TestApp {
    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.service
            .http
            .post(self.service.url(path))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn register(&self, email: &str, name: &str, password: &str) -> Response {
        self.post_json(
            "/v1/users",
            &json!({ "email": email, "name": name, "password": password }),
        )
        .await
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> Response {
        self.post_json(
            "/v1/sessions",
            &json!({ "email": email, "password": password }),
        )
        .await
    }

    /// Signs in as a client behind a proxy that reports its address as `ip`.
    pub async fn sign_in_from(&self, ip: &str, email: &str, password: &str) -> Response {
        self.service
            .http
            .post(self.service.url("/v1/sessions"))
            .header("x-forwarded-for", format!("{ip}, 10.0.0.1"))
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await
            .expect("request")
    }

    /// `GET path`, with `Authorization: Bearer <token>` if a token is given.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        let mut request = self.service.http.get(self.service.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request")
    }

    /// Registers an account with [`PASSWORD`] and signs it in: its id and token.
    pub async fn customer(&self, email: &str) -> (Uuid, String) {
        let registered = self.register(email, "Ada Lovelace", PASSWORD).await;
        assert_eq!(registered.status(), 201);
        let user: Value = registered.json().await.expect("user");
        let id = user["id"].as_str().expect("id").parse().expect("uuid");
        (id, self.token(email, PASSWORD).await)
    }

    /// Signs in, which must succeed: the access token.
    pub async fn token(&self, email: &str, password: &str) -> String {
        let response = self.sign_in(email, password).await;
        assert_eq!(response.status(), 200, "sign-in of {email}");
        let session: Value = response.json().await.expect("session");
        session["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// A pool on the test database, as the service's own role.
    pub async fn pool(&self) -> sqlx::PgPool {
        sqlx::PgPool::connect(&self.db.url_for(SCHEMA))
            .await
            .expect("connect")
    }
}

/// The status and problem body of an error response, checking its content type.
pub async fn problem(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json",
        "status {status}"
    );
    (status, response.json().await.expect("problem body"))
}

/// The fields a validation problem names, in order.
pub fn invalid_fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
