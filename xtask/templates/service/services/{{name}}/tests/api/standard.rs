//! The endpoints and behaviours every service shares (shop-testing's checks).

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
        &{{name}}::app::openapi(),
        concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json"),
    );
}

#[tokio::test]
async fn a_database_outage_is_a_503_with_retry_after_and_heals_by_itself() {
    let app = spawn_app().await;
    let (_, token) = app.customer();
    let url = app.service.url("/v1/{{name}}");
    shop_testing::standard::check_database_outage_is_a_503(&app.service, &app.db_proxy, || {
        app.service.http.get(&url).bearer_auth(&token)
    })
    .await;
}
