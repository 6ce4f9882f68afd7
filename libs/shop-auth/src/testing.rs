//! Test support (crate feature `testing`): a real token issuer for integration tests.
//!
//! A service under test is configured with `JWKS_URL = issuer.jwks_url()` and verifies the
//! tokens below exactly as it verifies the users service's in production: over HTTP.
//! This module panics on failure, as test code does.

use crate::{AUDIENCE, Claims, JwkSet, Role, SigningKey, Verifier};
use axum::Router;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use uuid::Uuid;

/// A fresh Ed25519 key whose JWKS is served on a random loopback port until dropped.
#[derive(Debug)]
pub struct TestIssuer {
    key: SigningKey,
    /// Signs forgeries: a key that is not in the JWKS.
    impostor: SigningKey,
    addr: SocketAddr,
    fetches: Arc<AtomicUsize>,
    server: tokio::task::JoinHandle<()>,
}

impl TestIssuer {
    pub async fn start() -> Self {
        let key = SigningKey::generate().expect("generate a signing key");
        let impostor = SigningKey::generate().expect("generate a signing key");
        let jwks = key.jwk_set();
        let fetches = Arc::new(AtomicUsize::new(0));
        let counter = fetches.clone();
        let app = Router::new().route(
            "/.well-known/jwks.json",
            get(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                let jwks = jwks.clone();
                async move { axum::Json(jwks) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            key,
            impostor,
            addr,
            fetches,
            server,
        }
    }

    /// `http://127.0.0.1:<port>/.well-known/jwks.json`
    pub fn jwks_url(&self) -> String {
        format!("http://{}/.well-known/jwks.json", self.addr)
    }

    /// How many times the JWKS was fetched.
    pub fn jwks_fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    pub fn kid(&self) -> &str {
        self.key.kid()
    }

    /// The JWKS this issuer serves.
    pub fn jwk_set(&self) -> JwkSet {
        self.key.jwk_set()
    }

    /// The private key as PKCS#8 PEM: give it to the users service (`JWT_PRIVATE_KEY_PEM`)
    /// to make the tokens below look as if that service had issued them.
    pub fn private_key_pem(&self) -> String {
        self.key.to_pkcs8_pem().expect("encode the key").to_string()
    }

    /// A verifier holding this issuer's key, without HTTP.
    pub fn verifier(&self) -> Verifier {
        Verifier::from_jwks(self.jwk_set())
    }

    /// Signs arbitrary claims with this issuer's key.
    pub fn sign(&self, claims: &Claims) -> String {
        self.key.sign(claims).expect("sign a token")
    }

    /// A valid token, good for an hour.
    pub fn token(&self, sub: Uuid, role: Role) -> String {
        self.sign(&claims(sub, role))
    }

    /// A correctly signed token that expired an hour ago (well beyond any clock leeway).
    pub fn expired_token(&self, sub: Uuid, role: Role) -> String {
        let mut claims = claims(sub, role);
        claims.iat -= 7200;
        claims.exp = claims.iat + 3600;
        self.sign(&claims)
    }

    /// A correctly signed token meant for another audience.
    pub fn token_for_audience(&self, sub: Uuid, role: Role, aud: &str) -> String {
        let mut claims = claims(sub, role);
        claims.aud = aud.to_owned();
        self.sign(&claims)
    }

    /// A token signed by a key outside the JWKS that claims this issuer's `kid`: only the
    /// signature check can catch it.
    pub fn token_signed_by_another_key(&self, sub: Uuid, role: Role) -> String {
        let genuine = self.token(sub, role);
        let forged = self
            .impostor
            .sign(&claims(sub, role))
            .expect("sign a token");
        let (header, _) = genuine.split_once('.').expect("a JWT");
        let (_, rest) = forged.split_once('.').expect("a JWT");
        format!("{header}.{rest}")
    }

    /// The classic algorithm confusion: HS256, keyed with this issuer's public key (the
    /// JWK's `x`), under its `kid`.
    pub fn token_hs256_keyed_with_the_public_key(&self, sub: Uuid, role: Role) -> String {
        let jwk = serde_json::to_value(self.jwk_set()).expect("the JWKS as JSON");
        let public = jwk["keys"][0]["x"].as_str().expect("x").to_owned();
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some(self.kid().to_owned());
        let key = jsonwebtoken::EncodingKey::from_secret(public.as_bytes()).expect("an HMAC key");
        jsonwebtoken::encode(&header, &claims(sub, role), &key).expect("encode")
    }

    /// A correctly signed token from another issuer (`iss`).
    pub fn token_from_issuer(&self, sub: Uuid, role: Role, iss: &str) -> String {
        let mut claims = claims(sub, role);
        iss.clone_into(&mut claims.iss);
        self.sign(&claims)
    }

    /// A token of a key that no JWKS has, under a `kid` of its own.
    pub fn token_of_an_unknown_key(&self, sub: Uuid, role: Role) -> String {
        self.impostor
            .sign(&claims(sub, role))
            .expect("sign a token")
    }

    /// Valid claims, correctly signed, but `header` as given (no `kid`, say) and `claims`
    /// changed by `edit` (a claim removed, say): what the issuer's API would never write.
    pub fn token_signed_raw(
        &self,
        header: jsonwebtoken::Header,
        edit: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>),
        sub: Uuid,
        role: Role,
    ) -> String {
        let mut claims = match serde_json::to_value(claims(sub, role)).expect("claims as JSON") {
            serde_json::Value::Object(claims) => claims,
            _ => unreachable!("claims are an object"),
        };
        edit(&mut claims);
        jsonwebtoken::encode(&header, &claims, self.key.encoding_key()).expect("encode")
    }

    /// A token signed by this issuer's key whose header names no `kid`.
    pub fn token_without_kid(&self, sub: Uuid, role: Role) -> String {
        let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
        self.token_signed_raw(header, |_| {}, sub, role)
    }

    /// A token signed by this issuer's key (and `kid`) that lacks the claim `name`.
    pub fn token_without_claim(&self, sub: Uuid, role: Role, name: &str) -> String {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
        header.kid = Some(self.kid().to_owned());
        self.token_signed_raw(header, |claims| drop(claims.remove(name)), sub, role)
    }

    /// Every forgery above, named: what each service's tests send to each guarded route.
    pub fn forgeries(&self, sub: Uuid, role: Role) -> Vec<(&'static str, String)> {
        let mut forgeries = vec![
            ("expired", self.expired_token(sub, role)),
            (
                "signed by another key",
                self.token_signed_by_another_key(sub, role),
            ),
            ("alg none", self.token_with_alg_none(sub, role)),
            (
                "HS256 keyed with the public key",
                self.token_hs256_keyed_with_the_public_key(sub, role),
            ),
            (
                "another audience",
                self.token_for_audience(sub, role, "somebody-else"),
            ),
            (
                "another issuer",
                self.token_from_issuer(sub, role, "somebody-else"),
            ),
            ("an unknown kid", self.token_of_an_unknown_key(sub, role)),
            ("no kid", self.token_without_kid(sub, role)),
            ("not a token", "not.a.token".to_owned()),
        ];
        for claim in ["sub", "exp", "iss", "aud", "jti"] {
            let name = match claim {
                "sub" => "no sub",
                "exp" => "no exp",
                "iss" => "no iss",
                "aud" => "no aud",
                _ => "no jti",
            };
            forgeries.push((name, self.token_without_claim(sub, role, claim)));
        }
        forgeries
    }

    /// An unsigned token (`alg: none`) with this issuer's `kid` and otherwise valid claims.
    pub fn token_with_alg_none(&self, sub: Uuid, role: Role) -> String {
        let header = serde_json::json!({ "alg": "none", "typ": "JWT", "kid": self.kid() });
        let encode = |value: &serde_json::Value| URL_SAFE_NO_PAD.encode(value.to_string());
        let claims = serde_json::to_value(claims(sub, role)).expect("claims as JSON");
        format!("{}.{}.", encode(&header), encode(&claims))
    }
}

impl Drop for TestIssuer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn claims(sub: Uuid, role: Role) -> Claims {
    let claims = Claims::new(sub, role, Duration::from_secs(3600));
    debug_assert_eq!(claims.aud, AUDIENCE);
    claims
}
