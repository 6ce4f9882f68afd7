//! Issuing access tokens, and the key that signs them.

use crate::config::TokenConfig;
use crate::db;
use serde::Serialize;
use shop_auth::{Claims, JwkSet, KeyError, Role, SigningKey, Verifier};
use sqlx::PgPool;
use std::time::Duration;
use utoipa::ToSchema;
use uuid::Uuid;

/// Signs the access tokens of this service.
#[derive(Debug)]
pub struct TokenIssuer {
    key: SigningKey,
    ttl: Duration,
}

/// A signed-in session: the OAuth 2 token response shape (RFC 6749 §5.1).
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessToken {
    /// An EdDSA-signed JWT: send it as `Authorization: Bearer <token>`.
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds until the token expires.
    #[schema(example = 3600)]
    pub expires_in: u64,
}

impl TokenIssuer {
    pub fn new(key: SigningKey, ttl: Duration) -> Self {
        Self { key, ttl }
    }

    /// The configured key, or else the one kept in the database (generated on first start).
    pub async fn load(config: &TokenConfig, pool: &PgPool) -> anyhow::Result<Self> {
        let key = match &config.private_key_pem {
            Some(pem) => SigningKey::from_pkcs8_pem(pem.expose())
                .map_err(|e| anyhow::anyhow!("JWT_PRIVATE_KEY_PEM: {e}"))?,
            None => {
                let candidate = SigningKey::generate()?;
                let pem = db::signing_keys::get_or_insert(
                    pool,
                    candidate.kid(),
                    &candidate.to_pkcs8_pem()?,
                )
                .await?;
                SigningKey::from_pkcs8_pem(&pem)?
            }
        };
        tracing::info!(kid = key.kid(), "token signing key loaded");
        Ok(Self::new(key, config.ttl))
    }

    pub fn issue(&self, account: Uuid, role: Role) -> Result<AccessToken, KeyError> {
        let access_token = self.key.sign(&Claims::new(account, role, self.ttl))?;
        Ok(AccessToken {
            access_token,
            token_type: "Bearer",
            expires_in: self.ttl.as_secs(),
        })
    }

    /// The public keys, as published at `/.well-known/jwks.json`.
    pub fn jwks(&self) -> JwkSet {
        self.key.jwk_set()
    }

    /// Verifies this service's own tokens, with no round trip to its own JWKS.
    pub fn verifier(&self) -> Verifier {
        Verifier::from_jwks(self.jwks())
    }
}
