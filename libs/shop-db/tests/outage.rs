//! What a service sees when an operator closes its database: a connection refused, and the
//! open ones ended. Both are "the database is unavailable" (503), never a 500.

use shop_testing::{TestDatabase, admin_url};
use sqlx::{Connection, Executor, PgConnection};

#[tokio::test]
async fn a_closed_database_is_unavailable_not_an_internal_error() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let mut open = PgConnection::connect(&db.url_for("orders")).await?;
    let mut admin = PgConnection::connect(&admin_url()).await?;

    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "ALTER DATABASE {} WITH ALLOW_CONNECTIONS false",
            db.name
        )))
        .await?;
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(&db.name)
    .execute(&mut admin)
    .await?;

    let refused = PgConnection::connect(&db.url_for("orders"))
        .await
        .expect_err("a closed database refuses connections");
    let ended = open
        .execute("SELECT 1")
        .await
        .expect_err("an ended connection fails");
    for error in [&refused, &ended] {
        assert!(shop_db::is_unavailable(error), "{error:?}");
        assert_eq!(shop_db::problem(error).status, 503, "{error:?}");
    }

    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "ALTER DATABASE {} WITH ALLOW_CONNECTIONS true",
            db.name
        )))
        .await?;
    Ok(())
}
