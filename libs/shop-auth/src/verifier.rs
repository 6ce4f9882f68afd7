//! Verifying tokens against the issuer's public keys.

use crate::{AUDIENCE, AuthError, Claims, ISSUER};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Refetch the JWKS when a token names an unknown key, but at most this often: forged
/// `kid`s must not turn into a flood of requests to the users service.
const MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(10);
/// While no key has ever been fetched (the users service is starting), retry sooner.
const MIN_RETRY_INTERVAL: Duration = Duration::from_secs(1);
/// Keys older than this are refetched, so a key withdrawn from the JWKS stops being accepted
/// (the users service serves the JWKS with the same `max-age`).
const MAX_KEY_AGE: Duration = Duration::from_secs(300);

/// Checks tokens: signature by a known key, `alg: EdDSA` only, `iss`, `aud` and `exp`.
/// Cheap to clone: clones share the key cache.
#[derive(Clone)]
pub struct Verifier {
    keys: Arc<KeySource>,
    validation: Arc<Validation>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let source = match &*self.keys {
            KeySource::Static(keys) => format!("{} static keys", keys.len()),
            KeySource::Remote(remote) => remote.url.clone(),
        };
        f.debug_struct("Verifier")
            .field("keys", &source)
            .finish_non_exhaustive()
    }
}

type Keys = HashMap<String, DecodingKey>;

enum KeySource {
    Static(Keys),
    Remote(RemoteJwks),
}

impl Verifier {
    /// Keys fetched from a JWKS URL on first use, cached, and refetched on an unknown `kid`.
    pub fn from_jwks_url(url: impl Into<String>, timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            // Building fails only if a TLS backend cannot initialise; without TLS it cannot.
            .unwrap_or_default();
        Self::with_source(KeySource::Remote(RemoteJwks {
            url: url.into(),
            http,
            cache: RwLock::new(Cache::default()),
            refresh: tokio::sync::Mutex::new(None),
        }))
    }

    /// A fixed set of keys (the issuer verifying its own tokens, or tests). Keys that are not
    /// Ed25519 or have no `kid` are ignored.
    pub fn from_jwks(jwks: JwkSet) -> Self {
        Self::with_source(KeySource::Static(usable_keys(&jwks)))
    }

    fn with_source(keys: KeySource) -> Self {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        Self {
            keys: Arc::new(keys),
            validation: Arc::new(validation),
        }
    }

    /// The claims of `token` if it is valid.
    pub async fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let header = jsonwebtoken::decode_header(token)?;
        // Checked before any key lookup, so that a token for another algorithm (`none`,
        // or HS256 with the public key as secret) never gets near a key.
        if header.alg != Algorithm::EdDSA {
            return Err(AuthError::WrongAlgorithm);
        }
        let kid = header.kid.ok_or(AuthError::MissingKeyId)?;
        let key = match &*self.keys {
            KeySource::Static(keys) => keys.get(&kid).cloned(),
            KeySource::Remote(remote) => remote.key(&kid).await?,
        }
        .ok_or(AuthError::UnknownKey)?;
        Ok(jsonwebtoken::decode::<Claims>(token, &key, &self.validation)?.claims)
    }
}

/// A JWKS behind a URL, and what was last fetched from it.
struct RemoteJwks {
    url: String,
    http: reqwest::Client,
    cache: RwLock<Cache>,
    /// When the last fetch was attempted. Held during a fetch, so that concurrent requests
    /// wait for one fetch instead of each starting their own.
    refresh: tokio::sync::Mutex<Option<Instant>>,
}

#[derive(Default)]
struct Cache {
    keys: Arc<Keys>,
    fetched_at: Option<Instant>,
}

impl RemoteJwks {
    async fn key(&self, kid: &str) -> Result<Option<DecodingKey>, AuthError> {
        let (keys, fresh) = self.cached();
        if fresh && let Some(key) = keys.get(kid) {
            return Ok(Some(key.clone()));
        }
        let keys = self.refresh(keys).await?;
        Ok(keys.get(kid).cloned())
    }

    /// The cached keys, and whether they are young enough to trust without a refetch.
    fn cached(&self) -> (Arc<Keys>, bool) {
        let cache = self
            .cache
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let fresh = cache
            .fetched_at
            .is_some_and(|at| at.elapsed() < MAX_KEY_AGE);
        (cache.keys.clone(), fresh)
    }

    /// Fetches the JWKS unless that was tried too recently; returns the keys to use. A failed
    /// fetch keeps the keys already cached: the issuer being down must not log everyone out.
    async fn refresh(&self, stale: Arc<Keys>) -> Result<Arc<Keys>, AuthError> {
        let mut last_attempt = self.refresh.lock().await;
        // Another request may have refreshed while this one waited for the lock.
        let (keys, _) = self.cached();
        if !Arc::ptr_eq(&keys, &stale) {
            return Ok(keys);
        }
        let interval = if keys.is_empty() {
            MIN_RETRY_INTERVAL
        } else {
            MIN_REFRESH_INTERVAL
        };
        if last_attempt.is_some_and(|at| at.elapsed() < interval) {
            return Ok(keys);
        }
        *last_attempt = Some(Instant::now());
        match self.fetch().await {
            Ok(jwks) => {
                let fetched = Arc::new(usable_keys(&jwks));
                let mut cache = self
                    .cache
                    .write()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                *cache = Cache {
                    keys: fetched.clone(),
                    fetched_at: Some(Instant::now()),
                };
                Ok(fetched)
            }
            Err(error) if keys.is_empty() => Err(AuthError::KeysUnavailable(error.to_string())),
            Err(error) => {
                tracing::warn!(%error, url = %self.url, "cannot refresh the JWKS; keeping the cached keys");
                Ok(keys)
            }
        }
    }

    async fn fetch(&self) -> Result<JwkSet, reqwest::Error> {
        self.http
            .get(&self.url)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await
    }
}

/// The Ed25519 keys of `jwks` that have a `kid`, by `kid`.
fn usable_keys(jwks: &JwkSet) -> Keys {
    jwks.keys
        .iter()
        .filter_map(|jwk| {
            let kid = jwk.common.key_id.clone()?;
            match &jwk.algorithm {
                AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => {
                    match DecodingKey::from_jwk(jwk) {
                        Ok(key) => Some((kid, key)),
                        Err(error) => {
                            tracing::warn!(%error, %kid, "ignoring an unreadable JWK");
                            None
                        }
                    }
                }
                _ => None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestIssuer;
    use crate::{Role, SigningKey};
    use uuid::Uuid;

    fn remote(issuer: &TestIssuer) -> Verifier {
        Verifier::from_jwks_url(issuer.jwks_url(), Duration::from_secs(2))
    }

    #[tokio::test]
    async fn accepts_a_token_of_the_issuer_and_caches_the_keys() {
        let issuer = TestIssuer::start().await;
        let verifier = remote(&issuer);
        let sub = Uuid::now_v7();
        assert_eq!(issuer.jwks_fetches(), 0, "fetched lazily");
        for _ in 0..3 {
            let claims = verifier
                .verify(&issuer.token(sub, Role::Admin))
                .await
                .expect("valid");
            assert_eq!((claims.sub, claims.role), (sub, Role::Admin));
        }
        assert_eq!(issuer.jwks_fetches(), 1, "cached after the first fetch");
    }

    #[tokio::test]
    async fn refuses_forged_expired_and_misdirected_tokens() {
        let issuer = TestIssuer::start().await;
        let verifier = remote(&issuer);
        let sub = Uuid::now_v7();
        let refused = |token: String| {
            let verifier = verifier.clone();
            async move { verifier.verify(&token).await.expect_err("must be refused") }
        };
        assert!(matches!(
            refused(issuer.expired_token(sub, Role::Customer)).await,
            AuthError::Expired
        ));
        assert!(matches!(
            refused(issuer.token_for_audience(sub, Role::Customer, "elsewhere")).await,
            AuthError::Invalid(_)
        ));
        assert!(matches!(
            refused(issuer.token_signed_by_another_key(sub, Role::Customer)).await,
            AuthError::Invalid(_)
        ));
        assert!(matches!(
            refused(issuer.token_with_alg_none(sub, Role::Customer)).await,
            AuthError::Invalid(_) | AuthError::WrongAlgorithm
        ));
        let mut wrong_issuer = Claims::new(sub, Role::Admin, Duration::from_secs(60));
        wrong_issuer.iss = "someone-else".to_owned();
        assert!(matches!(
            refused(issuer.sign(&wrong_issuer)).await,
            AuthError::Invalid(_)
        ));
    }

    #[tokio::test]
    async fn refuses_hs256_signed_with_the_public_key() {
        // The classic algorithm confusion: HMAC keyed with the (public) verification key.
        let issuer = TestIssuer::start().await;
        let jwk = serde_json::to_value(issuer.jwk_set()).expect("json");
        let secret = jwk["keys"][0]["x"].as_str().expect("x").to_owned();
        let mut header = jsonwebtoken::Header::new(Algorithm::HS256);
        header.kid = Some(issuer.kid().to_owned());
        let claims = Claims::new(Uuid::now_v7(), Role::Admin, Duration::from_secs(60));
        let token = jsonwebtoken::encode(
            &header,
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
        )
        .expect("encode");
        let error = remote(&issuer).verify(&token).await.expect_err("refused");
        assert!(matches!(error, AuthError::WrongAlgorithm), "{error}");
        assert_eq!(issuer.jwks_fetches(), 0, "no key is looked up for it");
    }

    #[tokio::test]
    async fn refetches_on_an_unknown_kid_at_most_once_per_interval() {
        let issuer = TestIssuer::start().await;
        let verifier = remote(&issuer);
        let sub = Uuid::now_v7();
        verifier
            .verify(&issuer.token(sub, Role::Customer))
            .await
            .expect("valid");

        let stranger = SigningKey::generate().expect("key");
        let token = stranger
            .sign(&Claims::new(sub, Role::Admin, Duration::from_secs(60)))
            .expect("sign");
        for _ in 0..5 {
            assert!(matches!(
                verifier.verify(&token).await,
                Err(AuthError::UnknownKey)
            ));
        }
        assert_eq!(issuer.jwks_fetches(), 1, "the refetch is rate-limited");
    }

    #[tokio::test]
    async fn an_unreachable_jwks_is_unavailable_not_unauthorized() {
        let issuer = TestIssuer::start().await;
        let verifier =
            Verifier::from_jwks_url("http://127.0.0.1:9/jwks.json", Duration::from_secs(1));
        let error = verifier
            .verify(&issuer.token(Uuid::now_v7(), Role::Customer))
            .await
            .expect_err("no keys");
        assert!(matches!(error, AuthError::KeysUnavailable(_)), "{error}");
    }

    #[tokio::test]
    async fn a_static_verifier_knows_only_its_keys() {
        let issuer = TestIssuer::start().await;
        let sub = Uuid::now_v7();
        let verifier = Verifier::from_jwks(issuer.jwk_set());
        assert!(
            verifier
                .verify(&issuer.token(sub, Role::Customer))
                .await
                .is_ok()
        );
        let other = TestIssuer::start().await;
        assert!(matches!(
            verifier.verify(&other.token(sub, Role::Customer)).await,
            Err(AuthError::UnknownKey)
        ));
    }
}
