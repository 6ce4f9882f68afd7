//! Consumer contract tests: what the services that call recommendations, or read its events, rely on
//! (their `contracts/recommendations.json`) is still in recommendations's contract and event schemas.

#[test]
fn every_consumer_finds_what_it_relies_on() {
    let checked = shop_testing::contracts::check_consumers_of(
        "recommendations",
        &recommendations::app::openapi(),
    );
    assert!(checked > 0);
}
