//! Access tokens for Harbor Shop.
//!
//! The users service is the only issuer: it signs short-lived EdDSA (Ed25519) JWTs with a
//! private key no other service ever sees, and publishes the public half as a JWKS at
//! `/.well-known/jwks.json`. Every other service verifies tokens against that JWKS:
//!
//! - [`Verifier`] fetches the JWKS lazily, caches it, and refetches (rate-limited) when a
//!   token names a key it does not know, so key rotation needs no restart. It accepts only
//!   `alg: EdDSA`, and checks the signature, `iss`, `aud` and `exp`.
//! - [`Authenticated`], [`AdminOnly`] and [`OptionalAuth`] are axum extractors that guard a
//!   route; a refused token becomes a `401 /problems/unauthorized` (or `403
//!   /problems/forbidden`) problem.
//! - [`SigningKey`] signs tokens; only the users service (and [`testing`]) holds one.
//! - With the `testing` feature, `testing::TestIssuer` serves a real JWKS on a random port
//!   and mints valid and forged tokens for integration tests.

mod claims;
mod config;
mod error;
mod extract;
pub mod openapi;
mod signing;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod verifier;

pub use claims::{AUDIENCE, Claims, ISSUER, Role, UnknownRole};
pub use config::AuthConfig;
pub use error::AuthError;
pub use extract::{AdminOnly, Authenticated, OptionalAuth};
pub use jsonwebtoken::jwk::{Jwk, JwkSet};
pub use signing::{KeyError, SigningKey};
pub use verifier::{JwksSource, KEY_AGES, KeyAges, Verifier};
