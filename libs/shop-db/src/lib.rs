//! Postgres for Harbor Shop services.
//!
//! Every domain service connects as its own role (`shop_<service>`) with `search_path` set
//! to its own schema, runs its migrations at start-up, and reports its pool to readiness.
//! [`provision`] creates the database, schemas and roles; it is what `cargo xtask` runs.

pub mod provision;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use std::str::FromStr;
use std::time::Duration;

/// Where and how a service connects.
#[derive(Debug, Clone)]
pub struct DbConfig {
    /// `postgres://shop_catalog@127.0.0.1:5432/shop`: the user is the service's role.
    pub url: String,
    /// The schema this service owns; first on its `search_path`.
    pub schema: String,
    pub max_connections: u32,
    /// How long a query waits for a free connection before failing (and readiness with it).
    pub acquire_timeout: Duration,
}

impl DbConfig {
    pub fn new(url: impl Into<String>, schema: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            schema: schema.into(),
            max_connections: 10,
            acquire_timeout: Duration::from_secs(3),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("invalid DATABASE_URL: {0}")]
    InvalidUrl(#[source] sqlx::Error),
    #[error("cannot reach the database after {attempts} attempts: {source}")]
    Unreachable {
        attempts: u32,
        #[source]
        source: sqlx::Error,
    },
    #[error("migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
}

/// A pool for the service's role. Connections are opened lazily, so a service can start
/// (and report "not ready") while its database is still coming up.
pub fn pool(config: &DbConfig) -> Result<PgPool, DbError> {
    let options = PgConnectOptions::from_str(&config.url)
        .map_err(DbError::InvalidUrl)?
        .options([("search_path", config.schema.as_str())])
        .application_name(&config.schema);
    Ok(PgPoolOptions::new()
        .max_connections(config.max_connections)
        .acquire_timeout(config.acquire_timeout)
        // Idle connections are re-checked before use, so a restarted database heals the pool.
        .test_before_acquire(true)
        .connect_lazy_with(options))
}

/// Opens the pool, waiting for the database up to `attempts` times (databases in compose
/// and Kubernetes often start after the services), then applies `migrator`.
pub async fn connect_and_migrate(
    config: &DbConfig,
    migrator: &sqlx::migrate::Migrator,
) -> Result<PgPool, DbError> {
    let pool = pool(config)?;
    let attempts = 30;
    let mut attempt = 1;
    loop {
        match ping(&pool).await {
            Ok(()) => break,
            Err(source) if attempt >= attempts => {
                return Err(DbError::Unreachable { attempts, source });
            }
            Err(error) => {
                tracing::warn!(%error, attempt, "database not reachable yet, retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
                attempt += 1;
            }
        }
    }
    migrator.run(&pool).await?;
    tracing::info!(schema = %config.schema, "database ready, migrations applied");
    spawn_pool_metrics(pool.clone(), config.schema.clone());
    Ok(pool)
}

/// A client span for one query, after the OpenTelemetry database conventions
/// (`db.system.name`, `db.operation.name`, `db.collection.name`). Instrument the query's
/// future with it; the statement itself is not recorded (it may hold personal data, and
/// the operation and table say what it did):
///
/// ```no_run
/// # async fn example(pool: sqlx::PgPool) -> Result<(), sqlx::Error> {
/// use tracing::Instrument;
/// sqlx::query("UPDATE orders SET status = 'confirmed' WHERE id = $1")
///     .execute(&pool)
///     .instrument(shop_db::query_span("UPDATE", "orders"))
///     .await?;
/// # Ok(())
/// # }
/// ```
pub fn query_span(operation: &'static str, collection: &'static str) -> tracing::Span {
    tracing::info_span!(
        "db query",
        otel.name = %format!("{operation} {collection}"),
        otel.kind = "client",
        db.system.name = "postgresql",
        db.operation.name = operation,
        db.collection.name = collection,
    )
}

/// How often the pool gauges are refreshed (Prometheus scrapes every 15 s by default).
pub const POOL_METRICS_EVERY: Duration = Duration::from_secs(5);

/// Keeps `db_pool_connections{schema, state="idle"|"used"}` and
/// `db_pool_max_connections{schema}` current, every [`POOL_METRICS_EVERY`], until the pool
/// is closed. Reading the counts opens no connection. [`connect_and_migrate`] starts it.
pub fn spawn_pool_metrics(pool: PgPool, schema: String) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(POOL_METRICS_EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !pool.is_closed() {
            ticks.tick().await;
            record_pool_metrics(&pool, &schema);
        }
    })
}

/// Sets the pool gauges once.
pub fn record_pool_metrics(pool: &PgPool, schema: &str) {
    let size = pool.size();
    let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX).min(size);
    let gauge = |state: &'static str| metrics::gauge!("db_pool_connections", "schema" => schema.to_owned(), "state" => state);
    gauge("idle").set(f64::from(idle));
    gauge("used").set(f64::from(size - idle));
    metrics::gauge!("db_pool_max_connections", "schema" => schema.to_owned())
        .set(f64::from(pool.options().get_max_connections()));
}

/// A readiness check for `shop_server::Readiness::with_check("database", ..)`.
pub fn readiness_check(
    pool: PgPool,
) -> impl Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send>>
+ Send
+ Sync
+ 'static {
    move || {
        let pool = pool.clone();
        Box::pin(async move { ping(&pool).await.map_err(|error| error.to_string()) })
    }
}

/// Whether `error` means the database cannot be reached now (an outage, worth retrying)
/// rather than a bug or a statement the database refused: no free connection within the
/// acquire timeout, a connection that could not be opened or broke mid-query, or the server
/// saying it is shutting down, starting up or out of connections.
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(error) => {
            // A FATAL error ends the session, whatever its code: the server refused or
            // dropped the connection (e.g. 55000 "database is not currently accepting
            // connections" while an operator closed it).
            let fatal = error
                .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .is_some_and(|error| {
                    matches!(
                        error.severity(),
                        sqlx::postgres::PgSeverity::Fatal | sqlx::postgres::PgSeverity::Panic
                    )
                });
            fatal
                || error.code().is_some_and(|code| {
                    // Class 08: connection exception; 57P01-57P03: admin shutdown, crash
                    // shutdown, cannot connect now (starting up); 53300: too many connections.
                    code.starts_with("08")
                        || matches!(&*code, "57P01" | "57P02" | "57P03" | "53300")
                })
        }
        _ => false,
    }
}

/// The one mapping of a database error to an HTTP problem, for every service's `error.rs`:
/// an unreachable database is a `503 /problems/database-unavailable` with `Retry-After`
/// (logged as a warning), anything else a 500 (logged as an error, never shown).
pub fn problem(error: &sqlx::Error) -> shop_server::Problem {
    if is_unavailable(error) {
        tracing::warn!(%error, "database unavailable");
        shop_server::Problem::database_unavailable()
    } else {
        shop_server::Problem::internal(error)
    }
}

/// One round trip: what readiness asks.
pub async fn ping(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1").execute(pool).await.map(|_| ())
}

impl DbConfig {
    /// `DATABASE_URL` (default: the service's role on the local server) and
    /// `DATABASE_MAX_CONNECTIONS`.
    pub fn from_env(
        env: &shop_config::Env,
        schema: &str,
    ) -> Result<Self, shop_config::ConfigError> {
        let default_url = format!(
            "postgres://{}@127.0.0.1:5432/shop",
            provision::role_for(schema)
        );
        let mut config = Self::new(env.string("DATABASE_URL", &default_url), schema);
        config.max_connections = env.parse("DATABASE_MAX_CONNECTIONS", config.max_connections)?;
        Ok(config)
    }
}
