//! Postgres: use the server at `DATABASE_ADMIN_URL` if one answers; otherwise start a
//! private cluster under `target/harbor/postgres` when PostgreSQL's binaries are installed.

use crate::{progress, workspace};
use anyhow::{Context, bail};
use sqlx::ConnectOptions;
use sqlx::postgres::PgConnectOptions;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;
use std::time::Duration;

/// The database `up` provisions and runs the services on: `SHOP_DATABASE` (as
/// `deploy/postgres/provision.sh` reads it), `shop` by default. The new-service drill
/// gives its `up` a database of its own, so that the demo's is never touched.
pub fn shop_database() -> String {
    std::env::var("SHOP_DATABASE").unwrap_or_else(|_| "shop".to_owned())
}

pub fn admin_url() -> String {
    std::env::var("DATABASE_ADMIN_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// `host:port` of the server, for the services' own URLs.
pub fn server() -> anyhow::Result<(String, u16)> {
    let options = PgConnectOptions::from_str(&admin_url()).context("DATABASE_ADMIN_URL")?;
    Ok((options.get_host().to_owned(), options.get_port()))
}

/// The URL a service connects with: its own role on `database`.
pub fn service_url(schema: &str, database: &str) -> anyhow::Result<String> {
    let (host, port) = server()?;
    Ok(format!(
        "postgres://{}@{host}:{port}/{database}",
        shop_db::provision::role_for(schema)
    ))
}

async fn answers() -> bool {
    let Ok(options) = PgConnectOptions::from_str(&admin_url()) else {
        return false;
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(3), options.connect()).await,
        Ok(Ok(_))
    )
}

pub async fn ensure_running() -> anyhow::Result<()> {
    if answers().await {
        progress::done(&format!("answers at {}", redact(&admin_url())));
        return Ok(());
    }
    let Some(bin) = find_binaries() else {
        bail!(
            "no Postgres answers at {} and PostgreSQL is not installed.\n\
             Install it (Debian/Ubuntu: `apt-get install postgresql`; macOS: `brew install postgresql@16`)\n\
             or point DATABASE_ADMIN_URL at a server you have.",
            redact(&admin_url())
        );
    };
    start_private_cluster(&bin)?;
    for _ in 0..60 {
        if answers().await {
            progress::done("private cluster started (stop it with `cargo xtask down`)");
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    bail!(
        "the private Postgres cluster did not start: see {}",
        log_file().display()
    )
}

/// Creates the shop database, schemas and roles (idempotent). A shop left cut off its
/// database (a chaos monkey stopped mid-outage) is connected again first.
pub async fn provision_shop() -> anyhow::Result<shop_db::provision::Report> {
    reconnect_shop().await?;
    shop_db::provision::provision(&admin_url(), &shop_database())
        .await
        .context("provisioning the shop database")
}

/// A database outage for the shop alone: its database refuses new connections and the
/// open ones are ended, while the rest of the server (the broker's store, other
/// databases) goes on. [`reconnect_shop`] ends it.
pub async fn disconnect_shop() -> anyhow::Result<()> {
    let mut admin = PgConnectOptions::from_str(&admin_url())?.connect().await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "ALTER DATABASE {} WITH ALLOW_CONNECTIONS false",
        shop_database()
    )))
    .execute(&mut admin)
    .await?;
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(shop_database())
    .execute(&mut admin)
    .await?;
    Ok(())
}

/// Makes sure each of `product_ids` has at least `units` in stock, so that a run's orders
/// are confirmed rather than sold out; returns each product's stock now. Written in the
/// database directly, as an operator would (catalog's triggers refresh its reads).
pub async fn top_up_stock(
    product_ids: &[uuid::Uuid],
    units: i32,
) -> anyhow::Result<Vec<(uuid::Uuid, i64)>> {
    let mut shop = PgConnectOptions::from_str(&admin_url())?
        .database(&shop_database())
        .connect()
        .await?;
    let rows: Vec<(uuid::Uuid, i32)> = sqlx::query_as(
        "UPDATE catalog.products SET stock = GREATEST(stock, $2), updated_at = now()
         WHERE id = ANY($1) RETURNING id, stock",
    )
    .bind(product_ids)
    .bind(units)
    .fetch_all(&mut shop)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, stock)| (id, i64::from(stock)))
        .collect())
}

/// Lets the shop connect to its database again (nothing to do if it can, or if the
/// database does not exist yet).
pub async fn reconnect_shop() -> anyhow::Result<()> {
    let mut admin = PgConnectOptions::from_str(&admin_url())?.connect().await?;
    let closed: Option<bool> =
        sqlx::query_scalar("SELECT NOT datallowconn FROM pg_database WHERE datname = $1")
            .bind(shop_database())
            .fetch_optional(&mut admin)
            .await?;
    if closed == Some(true) {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "ALTER DATABASE {} WITH ALLOW_CONNECTIONS true",
            shop_database()
        )))
        .execute(&mut admin)
        .await?;
        progress::note("the shop's database accepts connections again");
    }
    Ok(())
}

/// Drops `harbor_test_*` databases and roles that a killed test run could not clean up.
pub async fn drop_stale_test_databases() -> anyhow::Result<usize> {
    let mut conn = PgConnectOptions::from_str(&admin_url())?.connect().await?;
    let names: Vec<String> =
        sqlx::query_scalar(r"SELECT datname FROM pg_database WHERE datname LIKE 'harbor\_test\_%'")
            .fetch_all(&mut conn)
            .await?;
    for name in &names {
        shop_db::provision::drop_database(&admin_url(), name).await?;
    }
    // Roles made by tests (the RDS-like provisioning user), once their databases are gone.
    let roles: Vec<String> =
        sqlx::query_scalar(r"SELECT rolname FROM pg_roles WHERE rolname LIKE 'harbor\_test\_%'")
            .fetch_all(&mut conn)
            .await?;
    for role in &roles {
        let statement = format!("DROP ROLE {}", shop_db::provision::quote_ident(role));
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
            .execute(&mut conn)
            .await?;
    }
    Ok(names.len() + roles.len())
}

fn cluster_dir() -> PathBuf {
    workspace::state_dir().join("postgres")
}

fn log_file() -> PathBuf {
    workspace::state_dir().join("logs").join("postgres.log")
}

/// The directory holding `initdb` and `pg_ctl`, from PATH or Debian's layout.
fn find_binaries() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>());
    let debian = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin"));
    on_path
        .chain(debian)
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
}

/// PostgreSQL refuses to run as root: when we are root, run it as the `postgres` user.
fn as_postgres_user(program: &Path) -> Command {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0");
    if is_root {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn start_private_cluster(bin: &Path) -> anyhow::Result<()> {
    let (_, port) = server()?;
    let dir = cluster_dir();
    let data = dir.join("data");
    std::fs::create_dir_all(log_file().parent().context("log dir")?)?;
    std::fs::create_dir_all(&dir)?;
    // The postgres user must own its directory and log when we run it as that user.
    let _ = Command::new("chown")
        .args(["-R", "postgres"])
        .arg(&dir)
        .status();
    let _ = Command::new("touch").arg(log_file()).status();
    let _ = Command::new("chown")
        .arg("postgres")
        .arg(log_file())
        .status();
    if !data.join("PG_VERSION").exists() {
        progress::note(&format!(
            "initialising a private cluster in {}",
            data.display()
        ));
        let mut initdb = as_postgres_user(&bin.join("initdb"));
        initdb
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "--auth=trust", "--no-instructions"]);
        workspace::run(initdb)?;
    }
    progress::note(&format!("starting it on port {port}"));
    let mut pg_ctl = as_postgres_user(&bin.join("pg_ctl"));
    pg_ctl
        .arg("-D")
        .arg(&data)
        .arg("-l")
        .arg(log_file())
        .arg("-o")
        .arg(format!(
            "-p {port} -c listen_addresses=127.0.0.1 -k {}",
            dir.display()
        ))
        .args(["-w", "start"]);
    workspace::run(pg_ctl)
}

/// Stops the private cluster, if xtask started one.
pub fn stop_if_ours() -> anyhow::Result<()> {
    let data = cluster_dir().join("data");
    if !data.join("postmaster.pid").exists() {
        return Ok(());
    }
    let Some(bin) = find_binaries() else {
        return Ok(());
    };
    let mut pg_ctl = as_postgres_user(&bin.join("pg_ctl"));
    pg_ctl.arg("-D").arg(&data).args(["-m", "fast", "stop"]);
    workspace::run(pg_ctl)
}

/// The URL without its password, for printing.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}
