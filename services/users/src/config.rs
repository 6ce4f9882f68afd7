//! The users service's configuration, from environment variables.

use crate::domain::throttle::Limits;
use shop_db::DbConfig;
use shop_events::KafkaConfig;
use shop_faults::FaultsConfig;
use shop_server::{ConfigError, Env, ServerConfig};
use std::num::{NonZeroU64, NonZeroUsize};
use std::time::Duration;

/// The port this service listens on unless `LISTEN_ADDR` says otherwise.
pub const PORT: u16 = 8081;

/// The schema (and, prefixed with `shop_`, the database role) this service owns.
pub const SCHEMA: &str = "users";

/// An hour: long enough for a shopping session, short enough to limit a stolen token.
// Evaluated while compiling: a zero here would fail the build, never a running service.
const DEFAULT_TTL_SECONDS: NonZeroU64 = NonZeroU64::new(3600).unwrap();

/// Two hashes at once: 38 MiB beside the idle ~16 MiB, and both cores busy on a small node.
const DEFAULT_HASH_CONCURRENCY: NonZeroUsize = NonZeroUsize::new(2).unwrap();

#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DbConfig,
    /// Where `UserRegistered` events are published.
    pub kafka: KafkaConfig,
    /// `FAULTS_ENABLED` (default `false`): admins may inject faults at `/ops/faults`.
    pub faults: FaultsConfig,
    pub tokens: TokenConfig,
    pub admin: AdminConfig,
    /// `PASSWORD_HASH_CONCURRENCY` (default 2): how many Argon2 hashes may run at once,
    /// 19 MiB each; size it from the memory limit (`hasher` says how).
    pub password_hash_concurrency: NonZeroUsize,
    /// `PASSWORD_HASH_QUEUE_MS` (default 2000): how long a request may wait for a free
    /// hasher before it is told to retry (503).
    pub password_hash_queue_wait: Duration,
    /// `SIGN_IN_MAX_FAILURES_PER_ACCOUNT` (default 5) and `SIGN_IN_MAX_FAILURES_PER_ADDRESS`
    /// (default 100): failed sign-ins allowed in 15 minutes.
    pub sign_in_limits: Limits,
}

/// How access tokens are signed.
#[derive(Debug, Clone)]
pub struct TokenConfig {
    /// The Ed25519 signing key (PKCS#8 PEM). Without one, the service generates a key once
    /// and keeps it in its schema, so that restarts and replicas agree.
    pub private_key_pem: Option<Secret>,
    /// The key it replaced (`JWT_PREVIOUS_PRIVATE_KEY_PEM`): still published, so that its
    /// tokens stay valid until they expire; it signs nothing.
    pub previous_private_key_pem: Option<Secret>,
    /// How long a rotated key is published before it signs (`JWT_KEY_ACTIVATION_DELAY_MS`,
    /// default `tokens::DEFAULT_ACTIVATION_DELAY`): at least as long as verifiers cache the
    /// JWKS.
    pub activation_delay: Duration,
    /// How long a token stays valid.
    pub ttl: Duration,
}

/// The administrator account created (or updated) at start-up.
#[derive(Debug, Clone)]
pub struct AdminConfig {
    pub email: String,
    /// Without a password no admin is created.
    pub password: Option<Secret>,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let defaults = Limits::default();
        Ok(Self {
            server: ServerConfig::from_env(env, PORT)?,
            database: DbConfig::from_env(env, SCHEMA)?,
            kafka: KafkaConfig::from_env(env)?,
            faults: FaultsConfig::from_env(env)?,
            tokens: TokenConfig {
                private_key_pem: env.get("JWT_PRIVATE_KEY_PEM").map(Secret),
                previous_private_key_pem: env.get("JWT_PREVIOUS_PRIVATE_KEY_PEM").map(Secret),
                activation_delay: env.millis(
                    "JWT_KEY_ACTIVATION_DELAY_MS",
                    crate::tokens::DEFAULT_ACTIVATION_DELAY,
                )?,
                ttl: Duration::from_secs(env.parse("JWT_TTL_SECONDS", DEFAULT_TTL_SECONDS)?.get()),
            },
            admin: AdminConfig {
                email: env.string("ADMIN_EMAIL", "admin@harbor.shop"),
                password: env.get("ADMIN_PASSWORD").map(Secret),
            },
            password_hash_concurrency: env
                .parse("PASSWORD_HASH_CONCURRENCY", DEFAULT_HASH_CONCURRENCY)?,
            password_hash_queue_wait: env
                .millis("PASSWORD_HASH_QUEUE_MS", crate::hasher::QUEUE_WAIT)?,
            sign_in_limits: Limits {
                per_account: env.parse("SIGN_IN_MAX_FAILURES_PER_ACCOUNT", defaults.per_account)?,
                per_address: env.parse("SIGN_IN_MAX_FAILURES_PER_ADDRESS", defaults.per_address)?,
            },
        })
    }
}

/// A value that must not end up in logs: `Debug` shows only that it is set.
#[derive(Clone)]
pub struct Secret(pub String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let env = Env::from_pairs([("ADMIN_PASSWORD", "correct horse battery")]);
        let config = Config::from_env(&env).expect("config");
        assert!(!format!("{config:?}").contains("horse"));
        assert_eq!(config.admin.email, "admin@harbor.shop");
        assert_eq!(config.tokens.ttl, Duration::from_secs(3600));
        assert!(config.tokens.private_key_pem.is_none());
        assert_eq!(config.password_hash_concurrency.get(), 2);
        assert_eq!(config.sign_in_limits, Limits::default());
    }

    #[test]
    fn at_least_one_password_hash_at_a_time() {
        let env = Env::from_pairs([("PASSWORD_HASH_CONCURRENCY", "0")]);
        let error = Config::from_env(&env).expect_err("zero is refused");
        assert!(
            error.to_string().starts_with("PASSWORD_HASH_CONCURRENCY"),
            "{error}"
        );
    }

    #[test]
    fn tokens_must_live_at_least_a_second() {
        let env = Env::from_pairs([("JWT_TTL_SECONDS", "0")]);
        let error = Config::from_env(&env).expect_err("zero is refused");
        assert!(error.to_string().starts_with("JWT_TTL_SECONDS"), "{error}");
    }
}
