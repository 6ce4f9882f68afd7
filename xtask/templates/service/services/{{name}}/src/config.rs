//! The {{name}} service's configuration, from environment variables.

use shop_auth::AuthConfig;
use shop_db::DbConfig;
use shop_events::KafkaConfig;
use shop_faults::FaultsConfig;
use shop_server::{ConfigError, Env, ServerConfig};

/// The port this service listens on unless `LISTEN_ADDR` says otherwise.
pub const PORT: u16 = {{port}};

/// The schema (and, prefixed with `shop_`, the database role) this service owns.
pub const SCHEMA: &str = "{{name}}";

#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DbConfig,
    /// Where catalog's events are read from.
    pub kafka: KafkaConfig,
    /// `FAULTS_ENABLED` (default `false`): admins may inject faults at `/ops/faults`.
    pub faults: FaultsConfig,
    /// Where the public keys that sign the customers' tokens are published (users' JWKS).
    pub auth: AuthConfig,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            server: ServerConfig::from_env(env, PORT)?,
            database: DbConfig::from_env(env, SCHEMA)?,
            kafka: KafkaConfig::from_env(env)?,
            faults: FaultsConfig::from_env(env)?,
            auth: AuthConfig::from_env(env)?,
        })
    }
}
