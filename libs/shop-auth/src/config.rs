//! Where a service finds the keys that verify tokens.

use crate::Verifier;
use shop_config::{ConfigError, Env};
use std::time::Duration;

/// How a token-verifying service reaches the users service's JWKS.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    pub jwks_url: String,
    /// How long one JWKS fetch may take.
    pub jwks_timeout: Duration,
}

impl AuthConfig {
    /// `JWKS_URL` (default: the users service on its local port).
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            jwks_url: env.string("JWKS_URL", "http://127.0.0.1:8081/.well-known/jwks.json"),
            jwks_timeout: Duration::from_secs(3),
        })
    }

    /// A verifier that fetches its keys from [`jwks_url`](Self::jwks_url).
    pub fn verifier(&self) -> Verifier {
        Verifier::from_jwks_url(&self.jwks_url, self.jwks_timeout)
    }
}
