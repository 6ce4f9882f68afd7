//! The catalog service's configuration, from environment variables.

use shop_auth::AuthConfig;
use shop_db::DbConfig;
use shop_events::KafkaConfig;
use shop_faults::FaultsConfig;
use shop_server::{ConfigError, Env, ServerConfig};

/// The port this service listens on unless `LISTEN_ADDR` says otherwise.
pub const PORT: u16 = 8082;

/// The schema (and, prefixed with `shop_`, the database role) this service owns.
pub const SCHEMA: &str = "catalog";

#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DbConfig,
    /// `JWKS_URL`: where the keys that verify admins' tokens are.
    pub auth: AuthConfig,
    /// `KAFKA_BROKERS` and `KAFKA_TOPIC_PARTITIONS`: the event backbone.
    pub kafka: KafkaConfig,
    /// `CATALOG_SEED` (default `true`): load the demo catalog at start-up. Seeding only adds
    /// what is missing, so it never overwrites an admin's edits.
    pub seed: bool,
    /// `FAULTS_ENABLED` (default `false`): admins may inject faults at `/ops/faults`.
    pub faults: FaultsConfig,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            server: ServerConfig::from_env(env, PORT)?,
            database: DbConfig::from_env(env, SCHEMA)?,
            auth: AuthConfig::from_env(env)?,
            kafka: KafkaConfig::from_env(env)?,
            seed: env.parse("CATALOG_SEED", true)?,
            faults: FaultsConfig::from_env(env)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_unless_told_not_to() {
        let config = |pairs: &[(&str, &str)]| Config::from_env(&Env::from_pairs(pairs.to_vec()));
        assert!(config(&[]).unwrap().seed);
        assert!(!config(&[("CATALOG_SEED", "false")]).unwrap().seed);
        assert!(config(&[("CATALOG_SEED", "maybe")]).is_err());
    }

    #[test]
    fn reads_the_broker() {
        let config = |pairs: &[(&str, &str)]| Config::from_env(&Env::from_pairs(pairs.to_vec()));
        let kafka = config(&[("KAFKA_BROKERS", "kafka:9092")]).unwrap().kafka;
        assert_eq!(kafka.brokers, "kafka:9092");
        assert_eq!(kafka.topic_prefix, "", "the shop's topics have no prefix");
        assert!(config(&[("KAFKA_TOPIC_PARTITIONS", "0")]).is_err());
    }
}
