//! Provisioning against the real Postgres server: idempotent, and each service's role
//! confined to its own schema.

use shop_db::provision::{self, SERVICE_SCHEMAS, role_for};
use shop_testing::{TEST_DATABASE_PREFIX, TestDatabase, admin_url};
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
    assert_each_role_confined_to_its_schema(&|schema| db.url_for(schema)).await
}

/// As on Amazon RDS, whose master user is no superuser: a user with only `CREATEROLE` and
/// `CREATEDB` creates the shop database, runs the provisioning (shop-db's, then the
/// deploy script compose and Kubernetes use), and the service roles still reach only
/// their own schema. A fresh user each run: memberships granted to it are server-wide.
#[tokio::test]
async fn a_user_with_only_createrole_and_createdb_can_provision() -> anyhow::Result<()> {
    let provisioner = ProvisioningUser::create().await?;
    let database = format!(
        "{TEST_DATABASE_PREFIX}rds_{}",
        uuid::Uuid::new_v4().simple()
    );
    let result = async {
        let report = provision::provision(&provisioner.url("postgres"), &database).await?;
        assert!(report.database_created, "{report:?}");
        assert_each_role_confined_to_its_schema(&|schema| {
            format!("postgres://{}@{}/{database}", role_for(schema), server())
        })
        .await?;

        // The script compose and the Kubernetes Job run, on a database of its own.
        let script_database = format!("{database}_sh");
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let server = server();
        let (host, port) = server.rsplit_once(':').unwrap_or(("127.0.0.1", "5432"));
        let output = std::process::Command::new("bash")
            .arg(root.join("deploy/postgres/provision.sh"))
            .env("PGHOST", host)
            .env("PGPORT", port)
            .env("PGUSER", &provisioner.name)
            .env("SHOP_DATABASE", &script_database)
            .env("PROVISION_SQL", root.join("libs/shop-db/sql/provision.sql"))
            .output()?;
        let dropped = provision::drop_database(&admin_url(), &script_database).await;
        anyhow::ensure!(
            output.status.success(),
            "provision.sh as {} failed:\n{}",
            provisioner.name,
            String::from_utf8_lossy(&output.stderr)
        );
        dropped?;
        anyhow::Ok(())
    }
    .await;
    provision::drop_database(&admin_url(), &database).await?;
    provisioner.drop().await?;
    result
}

/// A login role with `CREATEROLE CREATEDB` and nothing else, like RDS's master user.
struct ProvisioningUser {
    name: String,
}

impl ProvisioningUser {
    async fn create() -> anyhow::Result<Self> {
        let name = format!("harbor_test_provisioner_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&admin_url()).await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE ROLE {name} LOGIN CREATEROLE CREATEDB"
        )))
        .execute(&mut admin)
        .await?;
        Ok(Self { name })
    }

    fn url(&self, database: &str) -> String {
        format!("postgres://{}@{}/{database}", self.name, server())
    }

    async fn drop(self) -> anyhow::Result<()> {
        let mut admin = PgConnection::connect(&admin_url()).await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP ROLE {}", self.name)))
            .execute(&mut admin)
            .await?;
        Ok(())
    }
}

/// `host:port` of the server the tests use.
fn server() -> String {
    let url = admin_url();
    let rest = url.split_once('@').map_or(url.as_str(), |(_, rest)| rest);
    let rest = rest.split_once("://").map_or(rest, |(_, rest)| rest);
    rest.split(['/', '?']).next().unwrap_or(rest).to_owned()
}

/// Each service role creates a table in its own schema, reads it, and is refused every
/// other service's schema and the public one. `url_for(schema)` connects as its owner.
async fn assert_each_role_confined_to_its_schema(
    url_for: &dyn Fn(&str) -> String,
) -> anyhow::Result<()> {
    for owner in SERVICE_SCHEMAS {
        let mut conn = PgConnection::connect(&url_for(owner)).await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE TABLE {owner}.probe (id int); INSERT INTO {owner}.probe VALUES (1)"
        )))
        .execute(&mut conn)
        .await?;
    }
    for reader in SERVICE_SCHEMAS {
        let mut conn = PgConnection::connect(&url_for(reader)).await?;
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
