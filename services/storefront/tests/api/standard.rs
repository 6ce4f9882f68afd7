use shop_server::{Env, ServerConfig};
use shop_testing::RunningService;
use storefront::app;
use storefront::config::Config;

async fn spawn_app() -> RunningService {
    let mut config = Config::from_env(&Env::from_pairs::<&str, &str>([])).expect("config");
    config.server = ServerConfig::ephemeral();
    RunningService::spawn(app::build(config).await.expect("the storefront starts"))
}

#[tokio::test]
async fn serves_the_standard_endpoints() {
    let app = spawn_app().await;
    shop_testing::standard::check_standard_endpoints(&app).await;
}

#[tokio::test]
async fn the_committed_contract_matches_the_code() {
    shop_testing::standard::check_contract_file(
        &app::openapi(),
        concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json"),
    );
}
