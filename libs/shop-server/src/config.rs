//! The HTTP part of every service's configuration.

use crate::client_addr::TrustedProxies;
use crate::serve::ConnectionLimits;
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
    /// `HTTP_BODY_LIMIT_BYTES`, `HTTP_HEADER_READ_TIMEOUT_MS` (also the keep-alive idle
    /// timeout, default 10 s), `HTTP_MAX_CONNECTIONS` (default 1024), `TRUSTED_PROXIES`
    /// (default none: `X-Forwarded-For` is ignored) and `ADMIN_LISTEN_ADDR` (default none:
    /// the operator's paths are served at `LISTEN_ADDR` too).
    pub fn from_env(env: &Env, default_port: u16) -> Result<Self, ConfigError> {
        let defaults = HttpSettings::default();
        let connections = ConnectionLimits {
            header_read_timeout: env.millis(
                "HTTP_HEADER_READ_TIMEOUT_MS",
                defaults.connections.header_read_timeout,
            )?,
            max_connections: env
                .parse("HTTP_MAX_CONNECTIONS", defaults.connections.max_connections)?,
        };
        // A slow request head is waited for at shutdown until this timeout closes it: longer
        // than the drain, and a slow client would hold up every shutdown.
        if connections.header_read_timeout >= crate::application::DRAIN_TIMEOUT
            || connections.header_read_timeout.is_zero()
        {
            return Err(ConfigError::Invalid {
                name: "HTTP_HEADER_READ_TIMEOUT_MS".to_owned(),
                value: connections.header_read_timeout.as_millis().to_string(),
                reason: format!(
                    "must be above 0 and below the {} s drain",
                    crate::application::DRAIN_TIMEOUT.as_secs()
                ),
            });
        }
        // Zero would accept nothing, ever.
        if connections.max_connections == 0 {
            return Err(ConfigError::Invalid {
                name: "HTTP_MAX_CONNECTIONS".to_owned(),
                value: "0".to_owned(),
                reason: "must be at least 1".to_owned(),
            });
        }
        Ok(Self {
            listen_addr: env.parse(
                "LISTEN_ADDR",
                SocketAddr::from(([0, 0, 0, 0], default_port)),
            )?,
            http: HttpSettings {
                request_timeout: env.millis("HTTP_REQUEST_TIMEOUT_MS", defaults.request_timeout)?,
                body_limit_bytes: env.parse("HTTP_BODY_LIMIT_BYTES", defaults.body_limit_bytes)?,
                connections,
                // Comma-separated; unset, no proxy is trusted.
                trusted_proxies: TrustedProxies::parse(&env.list("TRUSTED_PROXIES", &[]))?,
                admin_listen_addr: env.optional_parse("ADMIN_LISTEN_ADDR")?,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_limits_that_would_hang_or_refuse_everything_are_refused() {
        let config =
            |name: &str, value: &str| ServerConfig::from_env(&Env::from_pairs([(name, value)]), 80);
        let limits = config("HTTP_HEADER_READ_TIMEOUT_MS", "2000")
            .expect("valid")
            .http
            .connections;
        assert_eq!(
            limits.header_read_timeout,
            std::time::Duration::from_secs(2)
        );
        for (name, value) in [
            ("HTTP_HEADER_READ_TIMEOUT_MS", "0"),
            ("HTTP_HEADER_READ_TIMEOUT_MS", "20000"),
            ("HTTP_MAX_CONNECTIONS", "0"),
        ] {
            let error = config(name, value).expect_err(value).to_string();
            assert!(error.starts_with(name), "{error}");
        }
    }
}
