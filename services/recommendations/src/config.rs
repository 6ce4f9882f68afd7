//! The recommendations service's configuration, from environment variables.

use crate::domain::{HalfLife, TrendingWindow, Version};
use shop_auth::AuthConfig;
use shop_db::DbConfig;
use shop_events::KafkaConfig;
use shop_faults::FaultsConfig;
use shop_server::{ConfigError, Env, ServerConfig};
use uuid::Uuid;

/// The port this service listens on unless `LISTEN_ADDR` says otherwise.
pub const PORT: u16 = 8084;

/// The schema (and, prefixed with `shop_`, the database role) this service owns.
pub const SCHEMA: &str = "recommendations";

#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DbConfig,
    /// Where the order and catalog events are read from.
    pub kafka: KafkaConfig,
    /// `FAULTS_ENABLED` (default `false`): admins may inject faults at `/ops/faults`.
    pub faults: FaultsConfig,
    pub tiers: TierSettings,
    pub auth: AuthConfig,
}

/// How the tiers answer, beyond what the database holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TierSettings {
    /// The last resort, in order, and the answer while the database is away.
    pub static_products: Vec<Uuid>,
    pub popularity_half_life: HalfLife,
    /// Which ranking this replica answers with (a canary runs both).
    pub version: Version,
    pub trending_window: TrendingWindow,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            server: ServerConfig::from_env(env, PORT)?,
            database: DbConfig::from_env(env, SCHEMA)?,
            kafka: KafkaConfig::from_env(env)?,
            faults: FaultsConfig::from_env(env)?,
            tiers: TierSettings::from_env(env)?,
            auth: AuthConfig::from_env(env)?,
        })
    }
}

impl TierSettings {
    /// `STATIC_RECOMMENDATIONS` (comma-separated product ids, default none),
    /// `POPULARITY_HALF_LIFE_HOURS` (default 72), `RECOMMENDATIONS_VERSION` (`v1`, the
    /// default, or `v2`) and `TRENDING_WINDOW_HOURS` (v2's window, 1 to 168, default 24).
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let mut static_products = Vec::new();
        for item in env.list("STATIC_RECOMMENDATIONS", &[]) {
            let id = item
                .parse()
                .map_err(|error: uuid::Error| ConfigError::Invalid {
                    name: "STATIC_RECOMMENDATIONS".to_owned(),
                    value: item.clone(),
                    reason: error.to_string(),
                })?;
            if !static_products.contains(&id) {
                static_products.push(id);
            }
        }
        let hours = env.parse("POPULARITY_HALF_LIFE_HOURS", HalfLife::DEFAULT.hours())?;
        let popularity_half_life =
            HalfLife::from_hours(hours).ok_or_else(|| ConfigError::Invalid {
                name: "POPULARITY_HALF_LIFE_HOURS".to_owned(),
                value: hours.to_string(),
                reason: "must be a positive number of hours".to_owned(),
            })?;
        let version = env.parse("RECOMMENDATIONS_VERSION", Version::default())?;
        let hours = env.parse(
            "TRENDING_WINDOW_HOURS",
            u32::from(TrendingWindow::DEFAULT.hours()),
        )?;
        let trending_window =
            TrendingWindow::from_hours(hours).ok_or_else(|| ConfigError::Invalid {
                name: "TRENDING_WINDOW_HOURS".to_owned(),
                value: hours.to_string(),
                reason: format!("must be 1 to {} hours", TrendingWindow::MAX_HOURS),
            })?;
        Ok(Self {
            static_products,
            popularity_half_life,
            version,
            trending_window,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_static_list_and_the_half_life() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let env = Env::from_pairs([
            ("STATIC_RECOMMENDATIONS", format!("{a}, {b},{a}")),
            ("POPULARITY_HALF_LIFE_HOURS", "24".to_owned()),
            ("RECOMMENDATIONS_VERSION", "v2".to_owned()),
            ("TRENDING_WINDOW_HOURS", "6".to_owned()),
        ]);
        let settings = TierSettings::from_env(&env).unwrap();
        assert_eq!(settings.static_products, [a, b], "in order, once each");
        assert_eq!(settings.popularity_half_life.hours(), 24.0);
        assert_eq!(settings.version, Version::V2);
        assert_eq!(settings.trending_window.hours(), 6);

        let defaults = TierSettings::from_env(&Env::from_pairs::<&str, &str>([])).unwrap();
        assert_eq!(defaults, TierSettings::default());
        assert_eq!(defaults.popularity_half_life.hours(), 72.0);
        assert_eq!(defaults.version, Version::V1);
        assert_eq!(defaults.trending_window.hours(), 24);
    }

    #[test]
    fn names_the_invalid_variable() {
        let invalid = |name, value| {
            TierSettings::from_env(&Env::from_pairs([(name, value)]))
                .unwrap_err()
                .to_string()
        };
        assert!(invalid("STATIC_RECOMMENDATIONS", "nope").starts_with("STATIC_RECOMMENDATIONS="));
        assert!(
            invalid("POPULARITY_HALF_LIFE_HOURS", "0").starts_with("POPULARITY_HALF_LIFE_HOURS=")
        );
        assert!(
            invalid("POPULARITY_HALF_LIFE_HOURS", "soon")
                .starts_with("POPULARITY_HALF_LIFE_HOURS=")
        );
        assert!(invalid("RECOMMENDATIONS_VERSION", "v3").starts_with("RECOMMENDATIONS_VERSION="));
        assert!(invalid("TRENDING_WINDOW_HOURS", "0").starts_with("TRENDING_WINDOW_HOURS="));
        assert!(invalid("TRENDING_WINDOW_HOURS", "169").starts_with("TRENDING_WINDOW_HOURS="));
    }
}
