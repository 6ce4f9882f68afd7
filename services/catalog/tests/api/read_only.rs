//! Read-only mode: when the database refuses writes, browsing goes on and changes are a
//! 503 `/problems/read-only` with `Retry-After`, never a 500.

use crate::helpers::{TestApp, problem, product_body, spawn_app};
use reqwest::Method;
use sqlx::{AssertSqlSafe, Connection, PgConnection};

/// Sets `default_transaction_read_only` on the test database, then cuts the service's
/// connections so that the new ones, made through the proxy, start with it.
async fn set_read_only(app: &TestApp, on: bool) {
    // From the server's admin database: a session on the test database would be read-only
    // itself by the time the setting is reset.
    let mut admin = PgConnection::connect(&shop_testing::admin_url())
        .await
        .expect("connect as the superuser");
    let setting = if on {
        "SET default_transaction_read_only = on"
    } else {
        "RESET default_transaction_read_only"
    };
    let statement = format!("ALTER DATABASE \"{}\" {setting}", app.db.name);
    sqlx::query(AssertSqlSafe(statement))
        .execute(&mut admin)
        .await
        .expect("alter the database");
    app.db_proxy.disable();
    app.db_proxy.enable();
}

#[tokio::test]
async fn a_read_only_database_refuses_changes_and_keeps_serving_reads() {
    let app = spawn_app().await;
    let token = app.admin_token();
    set_read_only(&app, true).await;

    let listed = app.get("/v1/products?per_page=1").await;
    assert_eq!(listed.status(), 200, "reads keep working");

    let refused = app
        .send(
            Method::POST,
            "/v1/products",
            Some(&token),
            Some(&product_body("RO-0001")),
        )
        .await;
    assert_eq!(refused.headers()["retry-after"], "30");
    let body = problem(refused, 503).await;
    assert_eq!(body["type"], "/problems/read-only");

    set_read_only(&app, false).await;
    let created = app
        .send(
            Method::POST,
            "/v1/products",
            Some(&token),
            Some(&product_body("RO-0001")),
        )
        .await;
    assert_eq!(created.status(), 201, "writable again");
}
