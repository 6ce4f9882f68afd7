//! Provisioning against the real Postgres server: idempotent, and each service's role
//! confined to its own schema.

use shop_db::provision::{self, SERVICE_SCHEMAS, role_for};
use shop_testing::{TestDatabase, admin_url};
use sqlx::{Connection, PgConnection};

#[tokio::test]
async fn provisioning_twice_changes_nothing_the_second_time() -> anyhow::Result<()> {
    // TestDatabase::create provisions once; run the same provisioning again over it.
    let db = TestDatabase::create().await?;
    let mut conn = PgConnection::connect(&db.admin_url()).await?;
    let before = provision::snapshot(&mut conn).await?;
    assert!(
        before.contains("schema catalog owner=shop_catalog"),
        "{before}"
    );

    let again = provision::provision(&admin_url(), &db.name).await?;
    assert_eq!(
        again,
        provision::Report {
            database_created: false,
            changed: false
        }
    );
    let after = provision::snapshot(&mut conn).await?;
    assert_eq!(before, after);

    // And a third time, for good measure: still nothing to do.
    let third = provision::provision(&admin_url(), &db.name).await?;
    assert!(!third.changed);
    Ok(())
}

#[tokio::test]
async fn a_first_run_reports_what_it_created() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    provision::drop_database(&admin_url(), &db.name).await?;
    let report = provision::provision(&admin_url(), &db.name).await?;
    assert!(report.database_created && report.changed, "{report:?}");
    Ok(())
}

#[tokio::test]
async fn each_service_role_reaches_only_its_own_schema() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    // Each owner creates a table in its own schema.
    for owner in SERVICE_SCHEMAS {
        let mut conn = PgConnection::connect(&db.url_for(owner)).await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE TABLE {owner}.probe (id int); INSERT INTO {owner}.probe VALUES (1)"
        )))
        .execute(&mut conn)
        .await?;
    }
    // Every role reads its own table and is refused every other one.
    for reader in SERVICE_SCHEMAS {
        let mut conn = PgConnection::connect(&db.url_for(reader)).await?;
        for owner in SERVICE_SCHEMAS {
            let result = sqlx::query_scalar::<_, i32>(sqlx::AssertSqlSafe(format!(
                "SELECT id FROM {owner}.probe"
            )))
            .fetch_one(&mut conn)
            .await;
            if reader == owner {
                assert_eq!(result?, 1, "{reader} reads its own schema");
            } else {
                let error = result.expect_err("another service's schema must be refused");
                let code = error
                    .as_database_error()
                    .and_then(|e| e.code())
                    .map(|c| c.into_owned());
                assert_eq!(
                    code.as_deref(),
                    Some("42501"),
                    "{} reading {owner}: expected permission denied, got {error}",
                    role_for(reader)
                );
            }
        }
        // Nor can it create anything in the shared public schema.
        let public = sqlx::raw_sql("CREATE TABLE public.sneaky (id int)")
            .execute(&mut conn)
            .await;
        assert!(public.is_err(), "{reader} must not write to public");
    }
    Ok(())
}
