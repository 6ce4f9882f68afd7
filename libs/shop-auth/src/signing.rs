//! Signing tokens: what only the issuer can do.

use crate::Claims;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::spki::der::zeroize::Zeroizing;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm,
    OctetKeyPairParameters, OctetKeyPairType, PublicKeyUse, ThumbprintHash,
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};

/// A key that cannot be loaded, saved or used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("not an Ed25519 private key in PKCS#8: {0}")]
    Pkcs8(#[from] ed25519_dalek::pkcs8::Error),
    #[error(transparent)]
    Jwt(#[from] jsonwebtoken::errors::Error),
}

/// An Ed25519 private key, its key id, and what it signs.
///
/// The key id (`kid`) is the RFC 7638 thumbprint of the public key, so every instance that
/// loads the same key names it the same way, and a new key always gets a new id.
pub struct SigningKey {
    key: ed25519_dalek::SigningKey,
    encoding: EncodingKey,
    kid: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the private key itself.
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> Result<Self, KeyError> {
        use rand_core::RngCore;
        // An Ed25519 private key is 32 random bytes (RFC 8032 §5.1.5), wiped after use.
        let mut secret = Zeroizing::new([0u8; ed25519_dalek::SECRET_KEY_LENGTH]);
        rand_core::OsRng.fill_bytes(secret.as_mut());
        Self::new(ed25519_dalek::SigningKey::from_bytes(&secret))
    }

    /// Loads a `-----BEGIN PRIVATE KEY-----` PEM, as written by
    /// `openssl genpkey -algorithm ed25519`.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, KeyError> {
        Self::new(ed25519_dalek::SigningKey::from_pkcs8_pem(pem)?)
    }

    /// The key as PKCS#8 PEM, to store it; the string is wiped from memory when dropped.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, KeyError> {
        Ok(self.key.to_pkcs8_pem(LineEnding::LF)?)
    }

    fn new(key: ed25519_dalek::SigningKey) -> Result<Self, KeyError> {
        let der = key.to_pkcs8_der()?;
        let encoding = EncodingKey::from_ed_der(der.as_bytes());
        let kid = public_jwk(&key, None).thumbprint(ThumbprintHash::SHA256)?;
        Ok(Self { key, encoding, kid })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK: `kty: OKP`, `crv: Ed25519`, `alg: EdDSA`, `use: sig`, `kid`.
    pub fn public_jwk(&self) -> Jwk {
        public_jwk(&self.key, Some(self.kid.clone()))
    }

    /// A JWKS holding this key alone.
    pub fn jwk_set(&self) -> JwkSet {
        JwkSet {
            keys: vec![self.public_jwk()],
        }
    }

    /// A signed token: `alg: EdDSA` and this key's `kid` in the header.
    /// The key as jsonwebtoken uses it: for tests that sign what `sign` never would.
    #[cfg(feature = "testing")]
    pub(crate) fn encoding_key(&self) -> &EncodingKey {
        &self.encoding
    }

    pub fn sign(&self, claims: &Claims) -> Result<String, KeyError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        Ok(jsonwebtoken::encode(&header, claims, &self.encoding)?)
    }
}

fn public_jwk(key: &ed25519_dalek::SigningKey, kid: Option<String>) -> Jwk {
    use base64::Engine as _;
    let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes());
    Jwk {
        common: CommonParameters {
            public_key_use: Some(PublicKeyUse::Signature),
            key_algorithm: Some(KeyAlgorithm::EdDSA),
            key_id: kid,
            ..CommonParameters::default()
        },
        algorithm: AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
            key_type: OctetKeyPairType::OctetKeyPair,
            curve: EllipticCurve::Ed25519,
            x,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_survives_a_pem_round_trip_with_the_same_kid() {
        let key = SigningKey::generate().expect("generate");
        let pem = key.to_pkcs8_pem().expect("pem");
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        let loaded = SigningKey::from_pkcs8_pem(&pem).expect("load");
        assert_eq!(loaded.kid(), key.kid());
        assert_ne!(SigningKey::generate().expect("generate").kid(), key.kid());
    }

    #[test]
    fn loads_an_openssl_key_and_publishes_its_rfc_8037_jwk() {
        // RFC 8032 §7.1 test 1, whose JWK and thumbprint are in RFC 8037 Appendix A.
        let pem = "-----BEGIN PRIVATE KEY-----\n\
                   MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n\
                   -----END PRIVATE KEY-----\n";
        let key = SigningKey::from_pkcs8_pem(pem).expect("load");
        let jwk = serde_json::to_value(key.public_jwk()).expect("json");
        assert_eq!(jwk["kty"], "OKP");
        assert_eq!(jwk["crv"], "Ed25519");
        assert_eq!(jwk["x"], "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
        assert_eq!(jwk["alg"], "EdDSA");
        assert_eq!(jwk["use"], "sig");
        assert_eq!(key.kid(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
        assert_eq!(jwk["kid"], key.kid());
    }

    #[test]
    fn rejects_what_is_not_an_ed25519_key() {
        assert!(SigningKey::from_pkcs8_pem("not a key").is_err());
    }

    #[test]
    fn debug_hides_the_private_key() {
        let key = SigningKey::generate().expect("generate");
        let shown = format!("{key:?}");
        assert!(shown.contains(key.kid()) && !shown.contains("PRIVATE"));
    }
}
