use axum::Router;
use shop_auth::testing::TestIssuer;
use shop_server::{Env, ServerConfig};
use shop_testing::{RunningService, TestDatabase, kafka_brokers, unique_topic_prefix};
use storefront::config::Config;
use tokio::net::TcpListener;
use uuid::Uuid;

/// The storefront with the upstream URLs (and other settings) of `env`; an upstream not
/// named is at its default local port.
pub async fn spawn_storefront(env: Vec<(&str, String)>) -> RunningService {
    let mut config = Config::from_env(&Env::from_pairs(env)).expect("config");
    config.server = ServerConfig::ephemeral();
    let app = storefront::app::build(config)
        .await
        .expect("the storefront starts");
    RunningService::spawn(app)
}

/// A URL where nothing listens: the port was free a moment ago and is again.
pub async fn closed_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}")
}

/// A URL that accepts connections and never answers.
pub async fn silent_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((connection, _)) = listener.accept().await {
            held.push(connection);
        }
    });
    format!("http://{addr}")
}

/// An upstream on a random port serving `router`.
pub async fn serve(router: Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

/// The storefront in front of a real recommendations service (with its own database,
/// `static_products` as its static list, and tokens from `issuer`); the other upstreams
/// are unreachable.
pub struct TestShop {
    pub storefront: RunningService,
    pub recommendations: RunningService,
    pub issuer: TestIssuer,
    pub static_products: Vec<Uuid>,
    /// Dropped with the test, which drops the database.
    #[allow(dead_code)]
    pub db: TestDatabase,
}

pub async fn spawn_shop() -> TestShop {
    spawn_shop_with_catalog(closed_url().await).await
}

/// [`spawn_shop`], with the catalog at `catalog_url`.
pub async fn spawn_shop_with_catalog(catalog_url: String) -> TestShop {
    let db = TestDatabase::create().await.expect("test database");
    let issuer = TestIssuer::start().await;
    let static_products = vec![Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4()];
    let listed: Vec<String> = static_products.iter().map(Uuid::to_string).collect();
    let env = Env::from_pairs([
        ("DATABASE_URL", db.url_for(recommendations::config::SCHEMA)),
        ("JWKS_URL", issuer.jwks_url()),
        ("STATIC_RECOMMENDATIONS", listed.join(",")),
    ]);
    let mut config = recommendations::config::Config::from_env(&env).expect("config");
    config.server = ServerConfig::ephemeral();
    // Topics of this test's own: a shared broker must not mix tests' events.
    config.kafka.topic_prefix = shop_testing::unique_topic_prefix();
    let recommendations = RunningService::spawn(
        recommendations::app::build(config)
            .await
            .expect("recommendations starts"),
    );
    let storefront = spawn_storefront(vec![
        ("RECOMMENDATIONS_URL", recommendations.base_url()),
        // These tests compare answers that passed through with the service's own: on a
        // busy test machine 150 ms is not always enough for a real answer.
        ("RECOMMENDATIONS_BUDGET_MS", "2000".to_owned()),
        ("USERS_URL", closed_url().await),
        ("CATALOG_URL", catalog_url),
        ("ORDERS_URL", closed_url().await),
    ])
    .await;
    TestShop {
        storefront,
        recommendations,
        issuer,
        static_products,
        db,
    }
}

/// users, catalog (with its demo products), orders and recommendations, on one fresh
/// database, this test's own topics, and one signing key; the storefront in front.
/// The admin account the users service of a [`FullShop`] creates at start-up.
pub const ADMIN_EMAIL: &str = "admin@harbor.test";
pub const ADMIN_PASSWORD: &str = "admin test password";

pub struct FullShop {
    pub storefront: RunningService,
    /// `take()` it to stop the users service.
    pub users: Option<RunningService>,
    /// `take()` it to stop the recommendations service.
    pub recommendations: Option<RunningService>,
    _services: Vec<RunningService>,
    _issuer: TestIssuer,
    _db: TestDatabase,
}

pub async fn spawn_full_shop() -> FullShop {
    let db = TestDatabase::create().await.expect("test database");
    let issuer = TestIssuer::start().await;
    let prefix = unique_topic_prefix();
    let common = |schema: &str| {
        vec![
            ("DATABASE_URL", db.url_for(schema)),
            ("JWKS_URL", issuer.jwks_url()),
            ("KAFKA_BROKERS", kafka_brokers()),
            ("KAFKA_TOPIC_PARTITIONS", "2".to_owned()),
            ("FAULTS_ENABLED", "true".to_owned()),
        ]
    };

    let mut env = common(users::config::SCHEMA);
    env.push(("JWT_PRIVATE_KEY_PEM", issuer.private_key_pem()));
    env.push(("ADMIN_EMAIL", ADMIN_EMAIL.to_owned()));
    env.push(("ADMIN_PASSWORD", ADMIN_PASSWORD.to_owned()));
    let mut config = users::config::Config::from_env(&Env::from_pairs(env)).expect("config");
    config.server = ServerConfig::ephemeral();
    config.kafka.topic_prefix = prefix.clone();
    let users = RunningService::spawn(users::app::build(config).await.expect("users starts"));

    let env = Env::from_pairs(common("catalog"));
    let mut config = catalog::config::Config::from_env(&env).expect("config");
    config.server = ServerConfig::ephemeral();
    config.kafka.topic_prefix = prefix.clone();
    let catalog = RunningService::spawn(catalog::app::build(config).await.expect("catalog starts"));

    let mut env = common(orders::config::SCHEMA);
    env.push(("CATALOG_URL", catalog.base_url()));
    let mut config = orders::config::Config::from_env(&Env::from_pairs(env)).expect("config");
    config.server = ServerConfig::ephemeral();
    config.kafka.topic_prefix = prefix.clone();
    let orders = RunningService::spawn(orders::app::build(config).await.expect("orders starts"));

    // Until there are orders to learn from, the home page recommends a few demo products.
    let picks: Vec<String> = ["KI-GRN-001", "CT-MAT-008", "KI-KET-003", "KI-PRS-002"]
        .iter()
        .map(|sku| catalog::db::seed::product_id(sku).to_string())
        .collect();
    let mut env = common(recommendations::config::SCHEMA);
    env.push(("STATIC_RECOMMENDATIONS", picks.join(",")));
    let env = Env::from_pairs(env);
    let mut config = recommendations::config::Config::from_env(&env).expect("config");
    config.server = ServerConfig::ephemeral();
    config.kafka.topic_prefix = prefix;
    let recommendations = RunningService::spawn(
        recommendations::app::build(config)
            .await
            .expect("recommendations starts"),
    );

    let storefront = spawn_storefront(vec![
        ("USERS_URL", users.base_url()),
        ("CATALOG_URL", catalog.base_url()),
        ("ORDERS_URL", orders.base_url()),
        ("RECOMMENDATIONS_URL", recommendations.base_url()),
        ("COOKIE_SECURE", "false".to_owned()),
        ("FAULTS_ENABLED", "true".to_owned()),
        ("JWKS_URL", issuer.jwks_url()),
        // Every page asks users whether a signed-in session still stands.
        ("SESSION_CHECK_INTERVAL_MS", "0".to_owned()),
    ])
    .await;
    FullShop {
        storefront,
        users: Some(users),
        recommendations: Some(recommendations),
        _services: vec![catalog, orders],
        _issuer: issuer,
        _db: db,
    }
}
