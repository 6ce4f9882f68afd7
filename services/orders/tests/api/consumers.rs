//! Consumer contract tests: what the services that call orders, or read its events, rely on
//! (their `contracts/orders.json`) is still in orders's contract and event schemas.

#[test]
fn every_consumer_finds_what_it_relies_on() {
    let checked = shop_testing::contracts::check_consumers_of("orders", &orders::app::openapi());
    assert!(checked > 0);
}
