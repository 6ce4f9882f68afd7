use catalog::app;
use catalog::config::{Config, SCHEMA};
use shop_server::{Env, ServerConfig};
use shop_testing::{RunningService, TcpProxy, TestDatabase};

/// The service under test, its own database, and the proxy between them.
pub struct TestApp {
    pub service: RunningService,
    pub db_proxy: TcpProxy,
    /// Dropped with the test, which drops the database.
    #[allow(dead_code)]
    pub db: TestDatabase,
}

/// Starts the service on a random port, against a fresh database reached through a proxy.
pub async fn spawn_app() -> TestApp {
    let db = TestDatabase::create().await.expect("test database");
    let db_proxy = TcpProxy::start(db.server_addr()).await.expect("proxy");
    let env = Env::from_pairs([("DATABASE_URL", db.url_for_via(SCHEMA, db_proxy.addr()))]);
    let mut config = Config::from_env(&env).expect("config");
    config.server = ServerConfig::ephemeral();
    let app = app::build(config).await.expect("the service starts");
    TestApp {
        service: RunningService::spawn(app),
        db_proxy,
        db,
    }
}
