use crate::helpers::spawn_storefront;
use storefront::app;

#[tokio::test]
async fn serves_the_standard_endpoints() {
    let app = spawn_storefront(Vec::new()).await;
    shop_testing::standard::check_standard_endpoints(&app).await;
}

#[tokio::test]
async fn the_committed_contract_matches_the_code() {
    shop_testing::standard::check_contract_file(
        &app::openapi(),
        concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json"),
    );
}
