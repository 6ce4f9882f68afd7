//! The storefront's configuration, from environment variables.

use shop_server::{ConfigError, Env, ServerConfig};
use std::time::Duration;

/// Where the domain services answer.
#[derive(Debug, Clone)]
pub struct Upstreams {
    pub users_url: String,
    pub catalog_url: String,
    pub orders_url: String,
    pub recommendations_url: String,
    /// The longest the storefront waits for any one of them.
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    pub upstreams: Upstreams,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            server: ServerConfig::from_env(env, 8080)?,
            upstreams: Upstreams {
                users_url: env.string("USERS_URL", "http://127.0.0.1:8081"),
                catalog_url: env.string("CATALOG_URL", "http://127.0.0.1:8082"),
                orders_url: env.string("ORDERS_URL", "http://127.0.0.1:8083"),
                recommendations_url: env.string("RECOMMENDATIONS_URL", "http://127.0.0.1:8084"),
                timeout: env.millis("UPSTREAM_TIMEOUT_MS", Duration::from_secs(2))?,
            },
        })
    }
}
