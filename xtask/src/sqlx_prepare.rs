//! `cargo xtask sqlx-prepare [PACKAGE…]`: refresh the committed query data in `.sqlx/`.
//!
//! sqlx checks every `query!` against a real database at compile time. So that a build never
//! needs one (CI, Docker, a newcomer's laptop), the results are committed in `.sqlx/` and
//! builds run with `SQLX_OFFLINE=true` (set in `.cargo/config.toml`). This command creates a
//! scratch database, applies every service's migrations as that service's role, recompiles
//! the packages online against it, and saves what the macros learned.
//!
//! Queries name their schema (`catalog.products`): the compile-time connection sees every
//! schema, and a service's own connection has its schema first on its `search_path`.

use crate::{postgres, progress, workspace};
use anyhow::Context;
use sqlx::migrate::Migrator;
use sqlx::postgres::PgPoolOptions;

pub async fn run(packages: &[String]) -> anyhow::Result<()> {
    let database = format!("harbor_sqlx_{}", std::process::id());
    postgres::ensure_running().await?;
    shop_db::provision::provision(&postgres::admin_url(), &database).await?;
    let outcome = prepare(&database, packages).await;
    shop_db::provision::drop_database(&postgres::admin_url(), &database).await?;
    outcome
}

async fn prepare(database: &str, packages: &[String]) -> anyhow::Result<()> {
    let (host, port) = postgres::server()?;
    for schema in shop_db::provision::SERVICE_SCHEMAS {
        let dir = workspace::root()
            .join("services")
            .join(schema)
            .join("src/db/migrations");
        let migrator = Migrator::new(dir.as_path())
            .await
            .with_context(|| format!("reading {}", dir.display()))?;
        let url = format!(
            "postgres://{}@{host}:{port}/{database}",
            shop_db::provision::role_for(schema)
        );
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .connect(&url)
            .await?;
        migrator
            .run(&pool)
            .await
            .with_context(|| format!("migrating {schema}"))?;
        pool.close().await;
    }
    progress::done("scratch database migrated");

    let all: Vec<String> = crate::services::SERVICES
        .iter()
        .map(|s| s.name.to_owned())
        .collect();
    let packages = if packages.is_empty() { &all } else { packages };
    let scratch = workspace::state_dir().join(format!("sqlx-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;

    // The macros run only when their crate compiles: touch each crate's sources so that it
    // recompiles (cheaper than `cargo clean`, which would rebuild its dependencies too).
    let mut check = vec!["check", "--all-targets"];
    for package in packages {
        check.extend(["--package", package]);
        touch_sources(&workspace::root().join("services").join(package))?;
    }
    let mut command = workspace::cargo_command(&check);
    let (admin_user, _) = admin_user_and_rest();
    command
        .env("SQLX_OFFLINE", "false")
        .env("SQLX_OFFLINE_DIR", &scratch)
        .env(
            "DATABASE_URL",
            format!("postgres://{admin_user}@{host}:{port}/{database}"),
        );
    workspace::run(command)?;

    let committed = workspace::root().join(".sqlx");
    if packages.len() == all.len() {
        // A full run knows every query: anything else in .sqlx is stale.
        let _ = std::fs::remove_dir_all(&committed);
    }
    std::fs::create_dir_all(&committed)?;
    let mut saved = 0;
    for entry in std::fs::read_dir(&scratch)? {
        let entry = entry?;
        std::fs::copy(entry.path(), committed.join(entry.file_name()))?;
        saved += 1;
    }
    std::fs::remove_dir_all(&scratch)?;
    progress::done(&format!("{saved} queries saved in .sqlx/"));
    Ok(())
}

/// Sets the modification time of every `.rs` file below `dir` to now.
fn touch_sources(dir: &std::path::Path) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            touch_sources(&path)?;
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            std::fs::File::options()
                .append(true)
                .open(&path)?
                .set_modified(std::time::SystemTime::now())?;
        }
    }
    Ok(())
}

/// `user[:password]` of the admin URL.
fn admin_user_and_rest() -> (String, String) {
    let url = postgres::admin_url();
    let rest = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
    match rest.rsplit_once('@') {
        Some((user, server)) => (user.to_owned(), server.to_owned()),
        None => ("postgres".to_owned(), rest.to_owned()),
    }
}
