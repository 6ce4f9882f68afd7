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
        &orders::app::openapi(),
        concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json"),
    );
}

#[tokio::test]
async fn a_database_outage_is_a_503_with_retry_after_and_heals_by_itself() {
    let app = spawn_app().await;
    let customer = app.customer();
    let url = app.service.url("/v1/orders");
    shop_testing::standard::check_database_outage_is_a_503(&app.service, &app.db_proxy, || {
        app.service.http.get(&url).bearer_auth(&customer.token)
    })
    .await;
}

/// Polls `/health/ready` until `accept` takes its status and body (or 30 s pass).
async fn readiness_until(
    app: &crate::helpers::TestApp,
    what: &str,
    accept: impl Fn(u16, &serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let response = app.service.get("/health/ready").await;
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        if accept(status, &body) {
            return body;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "readiness never became {what}: {status} {body}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_broker_outage_is_degraded_readiness_and_orders_are_still_accepted() {
    use crate::helpers::{Options, new_key, one_of, spawn_app_with};
    let broker = shop_testing::PrivateBroker::start()
        .await
        .expect("a broker of our own");
    let app = spawn_app_with(Options {
        brokers: Some(broker.brokers()),
        ..Options::default()
    })
    .await;
    let customer = app.customer();
    let product = app.products().await[0].clone();
    readiness_until(&app, "ready", |status, body| {
        status == 200 && body["status"] == "ready"
    })
    .await;

    broker.disconnect();
    let body = readiness_until(&app, "degraded", |status, body| {
        status == 200 && body["status"] == "degraded"
    })
    .await;
    assert_ne!(
        body["checks"]["broker"], "ok",
        "the broker is named: {body}"
    );
    assert_eq!(body["checks"]["database"], "ok", "{body}");
    let placed = app
        .place(&customer.token, &new_key(), &one_of(&product["id"], 1))
        .await;
    assert_eq!(placed.status(), 202, "orders are still accepted");
    let order: serde_json::Value = placed.json().await.expect("order");

    // Ready again once the broker is back (the order's saga resuming after a reconnect is
    // `saga::orders_wait_out_a_broker_outage`'s subject).
    broker.reconnect();
    readiness_until(&app, "ready again", |status, body| {
        status == 200 && body["status"] == "ready"
    })
    .await;
    assert_eq!(order["status"], "pending", "{order}");
}
