//! Passwords: the policy, and Argon2id hashing.
//!
//! Argon2id with the `argon2` crate's defaults, m = 19 MiB, t = 2, p = 1: OWASP's Password
//! Storage Cheat Sheet lists exactly this as its first recommended minimum. Each hash
//! takes tens of milliseconds of CPU and 19 MiB of memory for that time, so these functions
//! are called through `hasher::PasswordHasher`, which bounds how many run at once and
//! keeps them off the threads that serve requests.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};

/// A password that meets the policy. Its `Debug` does not show it.
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

impl Password {
    pub const MIN_CHARS: usize = 10;
    /// Bounds the work one request can ask of the hasher.
    pub const MAX_CHARS: usize = 256;

    pub fn parse(raw: String) -> Result<Self, &'static str> {
        match raw.chars().count() {
            n if n < Self::MIN_CHARS => Err("must be at least 10 characters"),
            n if n > Self::MAX_CHARS => Err("must be at most 256 characters"),
            _ => Ok(Self(raw)),
        }
    }
}

/// An Argon2id hash in PHC string format (`$argon2id$v=19$m=...`), with its own salt and
/// parameters.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(pub String);

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(..)")
    }
}

/// Hashes with Argon2id and the crate's recommended parameters, under a fresh random salt.
/// Slow on purpose: see the module's documentation.
pub fn hash(password: &Password) -> Result<PasswordHash, argon2::password_hash::Error> {
    Argon2::default()
        .hash_password(password.0.as_bytes())
        .map(|hash| PasswordHash(hash.to_string()))
}

/// Whether `candidate` matches `hash`. Without a hash (an unknown email) the candidate is
/// checked against a dummy hash all the same, so that both answers take as long and the
/// response time does not reveal which addresses have accounts.
pub fn verify(
    candidate: &str,
    hash: Option<&PasswordHash>,
) -> Result<bool, argon2::password_hash::Error> {
    let stored = hash.map_or(DUMMY_HASH, |hash| hash.0.as_str());
    let matches = match Argon2::default().verify_password(candidate.as_bytes(), stored) {
        Ok(()) => true,
        Err(argon2::password_hash::Error::PasswordInvalid) => false,
        Err(error) => return Err(error),
    };
    Ok(hash.is_some() && matches)
}

/// The hash of a random password nobody knows, with the same parameters as real hashes
/// (a test checks that they stay the same).
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$5syTONi27K7jRcjKhP6uYw$xBIL5ODO69KKUtHQn4zD9KkHOGjd5r4p86tQ+C+5zGc";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_counts_characters() {
        assert!(Password::parse("123456789".to_owned()).is_err());
        assert!(Password::parse("1234567890".to_owned()).is_ok());
        assert!(Password::parse("ééééééééé".to_owned()).is_err());
        assert!(Password::parse("x".repeat(257)).is_err());
        assert_eq!(
            format!("{:?}", Password("secret".to_owned())),
            "Password(..)"
        );
    }

    #[test]
    fn hashes_verify_only_their_own_password() {
        let password = Password::parse("correct horse battery".to_owned()).expect("valid");
        let hash = hash(&password).expect("hash");
        assert!(hash.0.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", Some(&hash)).expect("verify"));
        assert!(!verify("wrong horse battery", Some(&hash)).expect("verify"));
        assert!(!verify("anything at all", None).expect("verify"));
    }

    #[test]
    fn the_dummy_hash_costs_as_much_as_a_real_one() {
        let real =
            hash(&Password::parse("a real password".to_owned()).expect("valid")).expect("hash");
        let params = |phc: &str| phc.split('$').take(4).collect::<Vec<_>>().join("$");
        assert_eq!(params(DUMMY_HASH), params(&real.0));
    }
}
