//! Consumer contract tests: what the services that call users, or read its events, rely on
//! (their `contracts/users.json`) is still in users's contract and event schemas.

#[test]
fn every_consumer_finds_what_it_relies_on() {
    let checked = shop_testing::contracts::check_consumers_of("users", &users::app::openapi());
    assert!(checked > 0);
}
