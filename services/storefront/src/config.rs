//! The storefront's configuration, from environment variables.

use shop_auth::AuthConfig;
use shop_faults::FaultsConfig;
use shop_server::{ConfigError, Env, ServerConfig};
use std::time::Duration;

/// The port this service listens on unless `LISTEN_ADDR` says otherwise.
pub const PORT: u16 = 8080;

/// Where the domain services answer.
#[derive(Debug, Clone)]
pub struct Upstreams {
    pub users_url: String,
    pub catalog_url: String,
    pub orders_url: String,
    pub recommendations_url: String,
    /// The longest the storefront waits for any one of them.
    pub timeout: Duration,
    /// The longest it waits for recommendations (`RECOMMENDATIONS_BUDGET_MS`, default
    /// 150 ms) before a fallback answers instead: they are a garnish, and a page that waits
    /// for them is slower for everyone.
    pub recommendations_budget: Duration,
}

/// How the web pages keep a visitor's session and cart.
#[derive(Clone)]
pub struct WebConfig {
    /// What the session and cart cookies' key is derived from (`SESSION_SECRET`, at least
    /// 32 bytes: a shorter one is refused at start). Empty: a random key per process, so
    /// sessions end when it restarts.
    pub session_secret: String,
    /// Marks the cookies `Secure` (`COOKIE_SECURE`): only plain-HTTP development turns it off.
    pub cookie_secure: bool,
    /// How often a signed-in session's token is checked with the users service
    /// (`SESSION_CHECK_INTERVAL_MS`, default 30 s): the longest a session signed out
    /// elsewhere lives on here.
    pub session_check_interval: Duration,
    /// The Jaeger UI, for the ops panel's links to traces (`JAEGER_UI_URL`).
    pub jaeger_ui_url: String,
}

impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebConfig")
            .field("session_secret", &"<redacted>")
            .field("cookie_secure", &self.cookie_secure)
            .field("session_check_interval", &self.session_check_interval)
            .field("jaeger_ui_url", &self.jaeger_ui_url)
            .finish()
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    pub upstreams: Upstreams,
    pub web: WebConfig,
    /// `JWKS_URL`: the keys that verify an admin's token at `/ops/faults`.
    pub auth: AuthConfig,
    /// `FAULTS_ENABLED` (default `false`): admins may inject faults at `/ops/faults`.
    pub faults: FaultsConfig,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            server: ServerConfig::from_env(env, PORT)?,
            upstreams: Upstreams {
                users_url: env.string("USERS_URL", "http://127.0.0.1:8081"),
                catalog_url: env.string("CATALOG_URL", "http://127.0.0.1:8082"),
                orders_url: env.string("ORDERS_URL", "http://127.0.0.1:8083"),
                recommendations_url: env.string("RECOMMENDATIONS_URL", "http://127.0.0.1:8084"),
                timeout: env.millis("UPSTREAM_TIMEOUT_MS", Duration::from_secs(2))?,
                recommendations_budget: env
                    .millis("RECOMMENDATIONS_BUDGET_MS", Duration::from_millis(150))?,
            },
            web: WebConfig {
                session_secret: env.string("SESSION_SECRET", ""),
                cookie_secure: env.parse("COOKIE_SECURE", true)?,
                session_check_interval: env
                    .millis("SESSION_CHECK_INTERVAL_MS", Duration::from_secs(30))?,
                jaeger_ui_url: env.string("JAEGER_UI_URL", "http://localhost:16686"),
            },
            auth: AuthConfig::from_env(env)?,
            faults: FaultsConfig::from_env(env)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_secret_stays_out_of_debug_output() {
        let secret = "a session secret that is long enough";
        let config =
            Config::from_env(&Env::from_pairs([("SESSION_SECRET", secret)])).expect("valid");
        assert_eq!(config.web.session_secret, secret);
        let shown = format!("{config:?}");
        assert!(!shown.contains(secret), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }
}
