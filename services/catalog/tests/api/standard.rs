use crate::helpers::spawn_app;

#[tokio::test]
async fn serves_the_standard_endpoints() {
    let app = spawn_app().await;
    shop_testing::standard::check_standard_endpoints(&app.service).await;
}

#[tokio::test]
async fn readiness_follows_the_database() {
    let app = spawn_app().await;
    shop_testing::standard::check_readiness_follows_database(&app.service, &app.db_proxy).await;
}

#[tokio::test]
async fn the_committed_contract_matches_the_code() {
    shop_testing::standard::check_contract_file(
        &catalog::app::openapi(),
        concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json"),
    );
}
