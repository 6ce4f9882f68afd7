//! Verifying tokens against the issuer's public keys.

use crate::{AUDIENCE, AuthError, Claims, ISSUER};
use futures::future::BoxFuture;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// While no key has ever been fetched (the users service is starting), retry sooner.
const MIN_RETRY_INTERVAL: Duration = Duration::from_secs(1);
/// How long fetched keys are used as they are, and how long at most a key is trusted
/// without the issuer confirming it: see [`KeyAges`].
pub const KEY_AGES: KeyAges = KeyAges {
    // The users service serves the JWKS with the same `max-age`.
    fresh: Duration::from_secs(300),
    stale_limit: Duration::from_secs(3600),
    // Forged `kid`s must not turn into a flood of requests to the users service.
    min_refresh_interval: Duration::from_secs(10),
};

/// How the keys fetched from a JWKS age ([`KEY_AGES`] by default).
///
/// Younger than `fresh`, a key is used as it is. Between `fresh` and `stale_limit` it is
/// still used, at once, while one background fetch brings the current set: verifications
/// never wait for the issuer because keys grew old (stale-while-revalidate). Past
/// `stale_limit` without a successful fetch, the keys are no longer trusted and tokens are
/// refused as `KeysUnavailable` (503): a key withdrawn from the JWKS (rotated out after a
/// leak) is accepted for at most that long by a service cut off from the issuer.
#[derive(Debug, Clone, Copy)]
pub struct KeyAges {
    pub fresh: Duration,
    pub stale_limit: Duration,
    /// Fetches (on an unknown `kid`, or of stale keys) are at most this often.
    pub min_refresh_interval: Duration,
}

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
            KeySource::Remote(remote) => remote.source.describe(),
        };
        f.debug_struct("Verifier")
            .field("keys", &source)
            .finish_non_exhaustive()
    }
}

type Keys = HashMap<String, DecodingKey>;

/// Where a [`Verifier`] gets its keys from: a JWKS URL ([`Verifier::from_jwks_url`]), or
/// anything else that can produce the current JWKS (the users service reads its own from
/// its database). Fetched as [`KeyAges`] says, never more than once at a time.
pub trait JwksSource: Send + Sync + 'static {
    /// The current key set.
    fn fetch(&self) -> BoxFuture<'_, Result<JwkSet, String>>;
    /// Where the keys come from, for logs.
    fn describe(&self) -> String;
}

/// A JWKS served over HTTP.
struct HttpJwks {
    url: String,
    http: reqwest::Client,
}

impl JwksSource for HttpJwks {
    fn fetch(&self) -> BoxFuture<'_, Result<JwkSet, String>> {
        Box::pin(async move {
            let fetched = async {
                self.http
                    .get(&self.url)
                    .send()
                    .await?
                    .error_for_status()?
                    .json()
                    .await
            };
            fetched
                .await
                .map_err(|error: reqwest::Error| error.to_string())
        })
    }

    fn describe(&self) -> String {
        self.url.clone()
    }
}

enum KeySource {
    Static(Keys),
    Remote(Arc<RemoteJwks>),
}

impl Verifier {
    /// Keys fetched from a JWKS URL on first use, cached, and refetched on an unknown `kid`.
    pub fn from_jwks_url(url: impl Into<String>, timeout: Duration) -> Self {
        Self::from_jwks_url_with(url, timeout, KEY_AGES)
    }

    /// [`Verifier::from_jwks_url`], with keys ageing as `ages` says (tests shorten them).
    pub fn from_jwks_url_with(url: impl Into<String>, timeout: Duration, ages: KeyAges) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            // Building fails only if a TLS backend cannot initialise; without TLS it cannot.
            .unwrap_or_default();
        let source = HttpJwks {
            url: url.into(),
            http,
        };
        Self::from_source(source, ages)
    }

    /// Keys from `source`, cached and renewed as `ages` says, and refetched on an unknown
    /// `kid`.
    pub fn from_source(source: impl JwksSource, ages: KeyAges) -> Self {
        Self::with_source(KeySource::Remote(Arc::new(RemoteJwks {
            source: Box::new(source),
            ages,
            cache: RwLock::new(Cache::default()),
            refresh: tokio::sync::Mutex::new(None),
        })))
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
            KeySource::Remote(remote) => RemoteJwks::key(remote, &kid).await?,
        }
        .ok_or(AuthError::UnknownKey)?;
        Ok(jsonwebtoken::decode::<Claims>(token, &key, &self.validation)?.claims)
    }
}

/// A JWKS from a [`JwksSource`], and what was last fetched from it.
struct RemoteJwks {
    source: Box<dyn JwksSource>,
    ages: KeyAges,
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
    async fn key(this: &Arc<Self>, kid: &str) -> Result<Option<DecodingKey>, AuthError> {
        let (keys, age) = this.cached();
        match (keys.get(kid), age) {
            (Some(key), Some(age)) if age < this.ages.fresh => return Ok(Some(key.clone())),
            (Some(key), Some(age)) if age < this.ages.stale_limit => {
                Self::refresh_in_background(this, keys.clone());
                return Ok(Some(key.clone()));
            }
            // An unknown `kid`, or keys too old to trust: nothing to answer with until a
            // fetch, so this request waits for one.
            _ => {}
        }
        let keys = this.refresh(keys).await?;
        Ok(keys.get(kid).cloned())
    }

    /// Starts a fetch beside the request, unless one is running already (it will bring the
    /// same keys).
    fn refresh_in_background(this: &Arc<Self>, stale: Arc<Keys>) {
        if this.refresh.try_lock().is_err() {
            return;
        }
        let remote = Arc::clone(this);
        tokio::spawn(async move {
            // A failure is logged by `refresh`; the next request past `fresh` tries again.
            let _ = remote.refresh(stale).await;
        });
    }

    /// The cached keys, and how long ago they were fetched (`None`: never).
    fn cached(&self) -> (Arc<Keys>, Option<Duration>) {
        let cache = self
            .cache
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        (cache.keys.clone(), cache.fetched_at.map(|at| at.elapsed()))
    }

    /// Fetches the JWKS unless that was tried too recently; returns the keys to use. A failed
    /// fetch keeps the keys already cached, up to `stale_limit`: the issuer being down for
    /// a while must not log everyone out, nor keep a withdrawn key alive for ever.
    async fn refresh(&self, stale: Arc<Keys>) -> Result<Arc<Keys>, AuthError> {
        let mut last_attempt = self.refresh.lock().await;
        // Another request may have refreshed while this one waited for the lock.
        let (keys, age) = self.cached();
        if !Arc::ptr_eq(&keys, &stale) {
            return Ok(keys);
        }
        let too_old = |age: Option<Duration>| age.is_some_and(|age| age >= self.ages.stale_limit);
        let interval = if keys.is_empty() {
            MIN_RETRY_INTERVAL
        } else {
            self.ages.min_refresh_interval
        };
        if last_attempt.is_some_and(|at| at.elapsed() < interval) {
            return if too_old(age) {
                Err(AuthError::KeysUnavailable(
                    "the signing keys are too old to trust and the issuer did not answer"
                        .to_owned(),
                ))
            } else {
                Ok(keys)
            };
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
            Err(error) if keys.is_empty() || too_old(age) => {
                Err(AuthError::KeysUnavailable(error.to_string()))
            }
            Err(error) => {
                tracing::warn!(%error, source = %self.source.describe(), "cannot refresh the JWKS; keeping the cached keys");
                Ok(keys)
            }
        }
    }

    async fn fetch(&self) -> Result<JwkSet, String> {
        self.source.fetch().await
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
    async fn refuses_every_forgery_the_test_issuer_makes() {
        let issuer = TestIssuer::start().await;
        let verifier = remote(&issuer);
        let sub = Uuid::now_v7();
        verifier
            .verify(&issuer.token(sub, Role::Customer))
            .await
            .expect("the genuine token");
        for (what, forged) in issuer.forgeries(sub, Role::Customer) {
            let error = verifier.verify(&forged).await.expect_err(what);
            assert!(
                !matches!(error, AuthError::KeysUnavailable(_)),
                "{what}: {error}"
            );
        }
        let error = verifier
            .verify(&issuer.token_without_kid(sub, Role::Customer))
            .await
            .expect_err("no kid");
        assert!(matches!(error, AuthError::MissingKeyId), "{error}");
    }

    #[tokio::test]
    async fn refuses_hs256_signed_with_the_public_key() {
        // The classic algorithm confusion: HMAC keyed with the (public) verification key.
        let issuer = TestIssuer::start().await;
        let token = issuer.token_hs256_keyed_with_the_public_key(Uuid::now_v7(), Role::Admin);
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

    /// A JWKS endpoint whose answers can be slowed down or refused, counting its fetches.
    struct Jwks {
        url: String,
        fetches: Arc<std::sync::atomic::AtomicUsize>,
        delay_ms: Arc<std::sync::atomic::AtomicU64>,
        down: Arc<std::sync::atomic::AtomicBool>,
    }

    impl Jwks {
        async fn serving(jwks: JwkSet) -> Self {
            use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
            let fetches = Arc::new(AtomicUsize::new(0));
            let delay_ms = Arc::new(AtomicU64::new(0));
            let down = Arc::new(AtomicBool::new(false));
            let (count, delay, refuse) = (fetches.clone(), delay_ms.clone(), down.clone());
            let app = axum::Router::new().route(
                "/jwks.json",
                axum::routing::get(move || {
                    let (jwks, delay) = (jwks.clone(), delay.load(Ordering::SeqCst));
                    let refused = refuse.load(Ordering::SeqCst);
                    count.fetch_add(1, Ordering::SeqCst);
                    async move {
                        tokio::time::sleep(Duration::from_millis(delay)).await;
                        if refused {
                            Err(http::StatusCode::SERVICE_UNAVAILABLE)
                        } else {
                            Ok(axum::Json(jwks))
                        }
                    }
                }),
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let url = format!("http://{}/jwks.json", listener.local_addr().expect("addr"));
            tokio::spawn(async move { axum::serve(listener, app).await });
            Self {
                url,
                fetches,
                delay_ms,
                down,
            }
        }

        fn fetches(&self) -> usize {
            self.fetches.load(std::sync::atomic::Ordering::SeqCst)
        }
    }

    const SHORT_AGES: KeyAges = KeyAges {
        fresh: Duration::from_millis(200),
        stale_limit: Duration::from_millis(1500),
        min_refresh_interval: Duration::from_millis(100),
    };

    #[tokio::test]
    async fn stale_keys_answer_at_once_while_one_fetch_renews_them_in_the_background() {
        let issuer = TestIssuer::start().await;
        let jwks = Jwks::serving(issuer.jwk_set()).await;
        let verifier = Verifier::from_jwks_url_with(&jwks.url, Duration::from_secs(5), SHORT_AGES);
        let token = issuer.token(Uuid::now_v7(), Role::Customer);
        verifier.verify(&token).await.expect("valid");
        assert_eq!(jwks.fetches(), 1);

        tokio::time::sleep(SHORT_AGES.fresh + Duration::from_millis(50)).await;
        // The issuer is now slow: a verification that waited for it would take a second.
        jwks.delay_ms
            .store(1000, std::sync::atomic::Ordering::SeqCst);
        let started = Instant::now();
        let answers = futures::future::join_all((0..20).map(|_| verifier.verify(&token))).await;
        let took = started.elapsed();
        assert!(answers.iter().all(Result::is_ok), "{answers:?}");
        assert!(
            took < Duration::from_millis(500),
            "verifications waited {took:?}"
        );

        // One fetch renews the keys, and afterwards they are fresh again.
        let deadline = Instant::now() + Duration::from_secs(5);
        while jwks.fetches() < 2 {
            assert!(Instant::now() < deadline, "no background fetch");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert_eq!(
            jwks.fetches(),
            2,
            "one fetch for twenty stale verifications"
        );
        let (_, age) = match &*verifier.keys {
            KeySource::Remote(remote) => remote.cached(),
            KeySource::Static(_) => unreachable!("a remote verifier"),
        };
        assert!(age.is_some_and(|age| age < SHORT_AGES.fresh), "{age:?}");
    }

    #[tokio::test]
    async fn keys_past_the_stale_limit_are_not_trusted_while_the_issuer_is_down() {
        let issuer = TestIssuer::start().await;
        let jwks = Jwks::serving(issuer.jwk_set()).await;
        let verifier = Verifier::from_jwks_url_with(&jwks.url, Duration::from_secs(1), SHORT_AGES);
        let token = issuer.token(Uuid::now_v7(), Role::Customer);
        verifier.verify(&token).await.expect("valid");

        jwks.down.store(true, std::sync::atomic::Ordering::SeqCst);
        tokio::time::sleep(SHORT_AGES.fresh + Duration::from_millis(50)).await;
        verifier
            .verify(&token)
            .await
            .expect("stale but within the limit: still trusted");

        tokio::time::sleep(SHORT_AGES.stale_limit).await;
        let error = verifier.verify(&token).await.expect_err("too old to trust");
        assert!(matches!(error, AuthError::KeysUnavailable(_)), "{error}");

        // The issuer back: the next verification fetches and is accepted.
        jwks.down.store(false, std::sync::atomic::Ordering::SeqCst);
        tokio::time::sleep(SHORT_AGES.min_refresh_interval).await;
        verifier.verify(&token).await.expect("keys renewed");
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
