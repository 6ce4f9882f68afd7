//! Issuing access tokens, and the keys that sign them.
//!
//! Keys rotate, in the order that loses no token (pre-publication):
//! 1. the new key is published at once but signs only after `JWT_KEY_ACTIVATION_DELAY_MS`
//!    ([`DEFAULT_ACTIVATION_DELAY`]): by then every verifier has refetched the JWKS it
//!    cached, so the first token the new key signs is never refused as "unknown key";
//! 2. then it signs, and the key it replaced stays in the JWKS for as long as a token it
//!    signed may live (`JWT_TTL_SECONDS`, and a minute for clocks): rotating signs nobody
//!    out.
//!
//! Where the keys live decides how they rotate:
//! - configured (`JWT_PRIVATE_KEY_PEM`, from a secret store): put the new key there and
//!   the old one in `JWT_PREVIOUS_PRIVATE_KEY_PEM`, then restart; after one token lifetime
//!   the previous one can go.
//! - generated (no key configured: development, the demo): kept in `users.signing_keys`,
//!   shared by every instance; `POST /v1/signing-keys` (an admin, or
//!   `cargo xtask rotate-keys`) adds a new one, and every instance signs with it at once.

use crate::config::TokenConfig;
use crate::db;
use futures::future::BoxFuture;
use serde::Serialize;
use shop_auth::{Claims, JwkSet, JwksSource, KeyAges, KeyError, Role, SigningKey, Verifier};
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;
use utoipa::ToSchema;
use uuid::Uuid;

/// How long after its expiry a token's key stays published: clocks differ a little.
const CLOCK_SKEW: Duration = Duration::from_secs(60);

/// How long a rotated key is published before it signs: longer than a verifier keeps the
/// JWKS without asking again (`shop_auth::KEY_AGES`: fresh, plus the pause between
/// fetches), and a little more for the fetch itself.
pub const DEFAULT_ACTIVATION_DELAY: Duration = Duration::from_secs(
    shop_auth::KEY_AGES.fresh.as_secs() + shop_auth::KEY_AGES.min_refresh_interval.as_secs() + 5,
);

/// This service's own tokens are checked against the keys in its database, renewed every
/// few seconds; a token naming a key not seen yet (another instance just rotated) reads
/// them again at once. That read is one small query, as cheap as the revocation check
/// every such request makes anyway, so it is not rate-limited (one at a time still).
const OWN_KEY_AGES: KeyAges = KeyAges {
    fresh: Duration::from_secs(5),
    stale_limit: Duration::from_secs(3600),
    min_refresh_interval: Duration::ZERO,
};

/// Why the keys could not be used or changed.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("no signing key is stored")]
    NoKey,
    /// Configured keys change with the configuration, not through the API.
    #[error("the signing keys are configured (JWT_PRIVATE_KEY_PEM): rotate them there")]
    Configured,
}

/// Signs the access tokens of this service.
#[derive(Debug)]
pub struct TokenIssuer {
    keys: KeyStore,
    ttl: Duration,
    activation_delay: Duration,
}

#[derive(Debug)]
enum KeyStore {
    /// The current key, then the previous one if configured.
    Configured(Box<[SigningKey]>),
    Database(PgPool),
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
    /// A fixed key (tests).
    pub fn new(key: SigningKey, ttl: Duration) -> Self {
        Self {
            keys: KeyStore::Configured(Box::new([key])),
            ttl,
            activation_delay: DEFAULT_ACTIVATION_DELAY,
        }
    }

    /// The configured keys, or else those kept in the database (one generated on first
    /// start).
    pub async fn load(config: &TokenConfig, pool: &PgPool) -> anyhow::Result<Self> {
        let parse = |name: &str, pem: &str| {
            SigningKey::from_pkcs8_pem(pem).map_err(|e| anyhow::anyhow!("{name}: {e}"))
        };
        let keys = match &config.private_key_pem {
            Some(pem) => {
                let current = parse("JWT_PRIVATE_KEY_PEM", pem.expose())?;
                let previous = config
                    .previous_private_key_pem
                    .as_ref()
                    .map(|pem| parse("JWT_PREVIOUS_PRIVATE_KEY_PEM", pem.expose()))
                    .transpose()?;
                tracing::info!(kid = current.kid(), "token signing key configured");
                KeyStore::Configured(std::iter::once(current).chain(previous).collect())
            }
            None => {
                let candidate = SigningKey::generate()?;
                let pem = db::signing_keys::get_or_insert(
                    pool,
                    candidate.kid(),
                    &candidate.to_pkcs8_pem()?,
                )
                .await?;
                let newest = SigningKey::from_pkcs8_pem(&pem)?;
                tracing::info!(
                    kid = newest.kid(),
                    "token signing keys kept in users.signing_keys"
                );
                KeyStore::Database(pool.clone())
            }
        };
        Ok(Self {
            keys,
            ttl: config.ttl,
            activation_delay: config.activation_delay,
        })
    }

    /// A token for `account`, signed by the current key.
    pub async fn issue(&self, account: Uuid, role: Role) -> Result<AccessToken, TokenError> {
        let claims = Claims::new(account, role, self.ttl);
        let access_token = match &self.keys {
            KeyStore::Configured(keys) => keys.first().ok_or(TokenError::NoKey)?.sign(&claims)?,
            KeyStore::Database(pool) => {
                let pem = db::signing_keys::current(pool)
                    .await?
                    .ok_or(TokenError::NoKey)?;
                SigningKey::from_pkcs8_pem(&pem)?.sign(&claims)?
            }
        };
        Ok(AccessToken {
            access_token,
            token_type: "Bearer",
            expires_in: self.ttl.as_secs(),
        })
    }

    /// The public keys, as published at `/.well-known/jwks.json`: the current one first,
    /// then those whose tokens may still be valid.
    pub async fn jwks(&self) -> Result<JwkSet, TokenError> {
        let keys = match &self.keys {
            KeyStore::Configured(keys) => keys.iter().map(SigningKey::public_jwk).collect(),
            KeyStore::Database(pool) => {
                let pems = db::signing_keys::published(pool, self.ttl + CLOCK_SKEW).await?;
                pems.iter()
                    .map(|pem| SigningKey::from_pkcs8_pem(pem).map(|key| key.public_jwk()))
                    .collect::<Result<_, _>>()?
            }
        };
        Ok(JwkSet { keys })
    }

    /// Adds a new signing key, published now and signing once the activation delay has
    /// passed: its `kid`, and that delay.
    pub async fn rotate(&self) -> Result<(String, Duration), TokenError> {
        let KeyStore::Database(pool) = &self.keys else {
            return Err(TokenError::Configured);
        };
        let key = SigningKey::generate()?;
        let pem = key.to_pkcs8_pem()?;
        db::signing_keys::insert(pool, key.kid(), &pem, self.activation_delay).await?;
        tracing::info!(kid = key.kid(), delay = ?self.activation_delay, "token signing key rotated");
        Ok((key.kid().to_owned(), self.activation_delay))
    }

    /// Verifies this service's own tokens against its published keys, with no round trip
    /// to its own JWKS endpoint.
    pub fn verifier(self: &Arc<Self>) -> Verifier {
        match &self.keys {
            KeyStore::Configured(keys) => Verifier::from_jwks(JwkSet {
                keys: keys.iter().map(SigningKey::public_jwk).collect(),
            }),
            KeyStore::Database(_) => Verifier::from_source(OwnKeys(Arc::clone(self)), OWN_KEY_AGES),
        }
    }
}

/// The issuer's published keys, as a [`Verifier`]'s source.
struct OwnKeys(Arc<TokenIssuer>);

impl JwksSource for OwnKeys {
    fn fetch(&self) -> BoxFuture<'_, Result<JwkSet, String>> {
        Box::pin(async move { self.0.jwks().await.map_err(|error| error.to_string()) })
    }

    fn describe(&self) -> String {
        "users.signing_keys".to_owned()
    }
}
