//! The catalog service's configuration, from environment variables.

use shop_auth::AuthConfig;
use shop_db::DbConfig;
use shop_server::{ConfigError, Env, ServerConfig};

/// The schema (and, prefixed with `shop_`, the database role) this service owns.
pub const SCHEMA: &str = "catalog";

#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DbConfig,
    /// `JWKS_URL`: where the keys that verify admin and internal callers' tokens are.
    pub auth: AuthConfig,
    /// `CATALOG_SEED` (default `true`): load the demo catalog at start-up. Seeding only adds
    /// what is missing, so it never overwrites an admin's edits.
    pub seed: bool,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            server: ServerConfig::from_env(env, 8082)?,
            database: DbConfig::from_env(env, SCHEMA)?,
            auth: AuthConfig::from_env(env)?,
            seed: env.parse("CATALOG_SEED", true)?,
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
}
