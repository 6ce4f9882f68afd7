//! The recommendations service's configuration, from environment variables.

use shop_db::DbConfig;
use shop_server::{ConfigError, Env, ServerConfig};

/// The schema (and, prefixed with `shop_`, the database role) this service owns.
pub const SCHEMA: &str = "recommendations";

#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DbConfig,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            server: ServerConfig::from_env(env, 8084)?,
            database: DbConfig::from_env(env, SCHEMA)?,
        })
    }
}
