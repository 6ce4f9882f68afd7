//! Creating the shop database, its schemas and its roles. Idempotent.

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};
use std::str::FromStr;

/// The SQL that creates the schemas and roles: one file shared with compose and Kubernetes.
pub const PROVISION_SQL: &str = include_str!("../sql/provision.sql");

/// The domain services: each has a schema of this name and a role `shop_<name>`
/// (`sql/provision.sql` lists them too; `cargo xtask new-service` adds to both).
pub const SERVICE_SCHEMAS: &[&str] = &["users", "catalog", "orders", "recommendations"];

/// The login role of the service owning `schema`.
pub fn role_for(schema: &str) -> String {
    format!("shop_{schema}")
}

/// What a provisioning run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub database_created: bool,
    /// False when everything was already in place.
    pub changed: bool,
}

/// Creates `database` if missing, then the roles and schemas inside it.
///
/// `admin_url` is a superuser URL to any database on the server (usually `postgres`).
pub async fn provision(admin_url: &str, database: &str) -> Result<Report, sqlx::Error> {
    let created = create_database_if_missing(admin_url, database).await?;
    let admin = PgConnectOptions::from_str(admin_url)?;
    let mut db = admin.database(database).connect().await?;
    let before = snapshot(&mut db).await?;
    sqlx::raw_sql(PROVISION_SQL).execute(&mut db).await?;
    let after = snapshot(&mut db).await?;
    db.close().await?;
    Ok(Report {
        database_created: created,
        changed: created || before != after,
    })
}

/// Creates `database` on the server of `admin_url` (a superuser URL) unless it exists;
/// returns whether it did.
pub async fn create_database_if_missing(
    admin_url: &str,
    database: &str,
) -> Result<bool, sqlx::Error> {
    let mut server = PgConnectOptions::from_str(admin_url)?
        .log_statements(tracing::log::LevelFilter::Debug)
        .connect()
        .await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(database)
            .fetch_one(&mut server)
            .await?;
    if !exists {
        let statement = format!("CREATE DATABASE {}", quote_ident(database));
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
            .execute(&mut server)
            .await?;
    }
    server.close().await?;
    Ok(!exists)
}

/// Everything provisioning controls, as text: roles, their settings, the schemas with
/// owners and privileges, and the database's privileges.
pub async fn snapshot(db: &mut PgConnection) -> Result<String, sqlx::Error> {
    sqlx::query_scalar(
        r#"
        SELECT coalesce(string_agg(line, E'\n' ORDER BY line), '') FROM (
            SELECT 'role ' || r.rolname || ' login=' || r.rolcanlogin
                   || ' config=' || coalesce((
                        SELECT array_to_string(s.setconfig, ',')
                        FROM pg_db_role_setting s WHERE s.setrole = r.oid AND s.setdatabase = 0), '')
            FROM pg_roles r WHERE r.rolname LIKE 'shop\_%'
            UNION ALL
            SELECT 'schema ' || n.nspname || ' owner=' || pg_get_userbyid(n.nspowner)
                   || ' acl=' || coalesce(n.nspacl::text, '')
            FROM pg_namespace n
            WHERE n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'
            UNION ALL
            SELECT 'database ' || d.datname || ' acl=' || coalesce(d.datacl::text, '')
            FROM pg_database d WHERE d.datname = current_database()
        ) AS state(line)
        "#,
    )
    .fetch_one(db)
    .await
}

/// Drops `database`, closing its connections first. Used by test clean-up.
pub async fn drop_database(admin_url: &str, database: &str) -> Result<(), sqlx::Error> {
    let mut server = PgConnectOptions::from_str(admin_url)?.connect().await?;
    let statement = format!(
        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
        quote_ident(database)
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
        .execute(&mut server)
        .await?;
    server.close().await
}

/// `"name"` with embedded quotes doubled: identifiers cannot be bound as parameters.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
