//! The catalog service's configuration, from environment variables.

use shop_db::DbConfig;
use shop_server::{ConfigError, Env, ServerConfig};

/// The schema (and, prefixed with `shop_`, the database role) this service owns.
pub const SCHEMA: &str = "catalog";

#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DbConfig,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            server: ServerConfig::from_env(env, 8082)?,
            database: DbConfig::from_env(env, SCHEMA)?,
        })
    }
}
