//! The HTTP part of every service's configuration.

use crate::service::HttpSettings;
use shop_config::{ConfigError, Env};
use std::net::SocketAddr;

/// Where a service listens and the limits on its requests.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen_addr: SocketAddr,
    pub http: HttpSettings,
}

impl ServerConfig {
    /// `LISTEN_ADDR` (default `0.0.0.0:<default_port>`), `HTTP_REQUEST_TIMEOUT_MS`,
    /// `HTTP_BODY_LIMIT_BYTES`.
    pub fn from_env(env: &Env, default_port: u16) -> Result<Self, ConfigError> {
        let defaults = HttpSettings::default();
        Ok(Self {
            listen_addr: env.parse(
                "LISTEN_ADDR",
                SocketAddr::from(([0, 0, 0, 0], default_port)),
            )?,
            http: HttpSettings {
                request_timeout: env.millis("HTTP_REQUEST_TIMEOUT_MS", defaults.request_timeout)?,
                body_limit_bytes: env.parse("HTTP_BODY_LIMIT_BYTES", defaults.body_limit_bytes)?,
            },
        })
    }

    /// Port 0 on loopback, default limits: what integration tests use.
    pub fn ephemeral() -> Self {
        Self {
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            http: HttpSettings::default(),
        }
    }
}
