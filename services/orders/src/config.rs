//! The orders service's configuration, from environment variables.

use shop_auth::AuthConfig;
use shop_db::DbConfig;
use shop_events::KafkaConfig;
use shop_faults::FaultsConfig;
use shop_server::{ConfigError, Env, ServerConfig};
use std::time::Duration;

/// The port this service listens on unless `LISTEN_ADDR` says otherwise.
pub const PORT: u16 = 8083;

/// The schema (and, prefixed with `shop_`, the database role) this service owns.
pub const SCHEMA: &str = "orders";

#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DbConfig,
    pub auth: AuthConfig,
    pub kafka: KafkaConfig,
    /// `FAULTS_ENABLED` (default `false`): admins may inject faults at `/ops/faults`.
    pub faults: FaultsConfig,
    /// Where catalog answers the price of a product orders has not heard of yet.
    pub catalog_url: String,
    pub catalog_timeout: Duration,
    /// `ORDER_PENDING_TIMEOUT_MS` (default 10 minutes): an order still pending after this
    /// is cancelled (`saga::expiry`).
    pub pending_timeout: Duration,
    /// `ORDER_RECONCILE_AFTER_MS` (default 30 s): an order whose answer from catalog has
    /// not come this long after orders asked is asked about again (`saga::reconcile`).
    pub reconcile_after: Duration,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            server: ServerConfig::from_env(env, PORT)?,
            database: DbConfig::from_env(env, SCHEMA)?,
            auth: AuthConfig::from_env(env)?,
            kafka: KafkaConfig::from_env(env)?,
            faults: FaultsConfig::from_env(env)?,
            catalog_url: env.string("CATALOG_URL", "http://127.0.0.1:8082"),
            catalog_timeout: env.millis("CATALOG_TIMEOUT_MS", Duration::from_secs(2))?,
            pending_timeout: env.millis("ORDER_PENDING_TIMEOUT_MS", Duration::from_secs(600))?,
            reconcile_after: env.millis("ORDER_RECONCILE_AFTER_MS", Duration::from_secs(30))?,
        })
    }
}
