//! Passwords: the policy, and Argon2id hashing.
//!
//! Argon2id with the `argon2` crate's defaults, m = 19 MiB, t = 2, p = 1: OWASP's Password
//! Storage Cheat Sheet lists exactly this as its first recommended minimum. Each hash
//! takes tens of milliseconds of CPU and 19 MiB of memory for that time, so these functions
//! are called through `hasher::PasswordHasher`, which bounds how many run at once, keeps
//! them off the threads that serve requests, and gives each its reused [`Memory`].

use argon2::password_hash::Error;
use argon2::password_hash::phc::{self, Output, ParamsString, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};

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

/// Argon2's working memory (19 MiB with the parameters in use), allocated once by each
/// hashing thread and reused for every hash it computes. Allocated afresh for each hash,
/// as the crate's `hash_password` does, glibc's malloc kept hundreds of MiB resident
/// after a burst of sign-ups (`cargo xtask bench`; docs/benchmarks-limits.md).
pub struct Memory(Vec<Block>);

impl Memory {
    /// Memory for the parameters new hashes use.
    pub fn new() -> Self {
        Self(vec![Block::new(); Params::DEFAULT.block_count()])
    }

    /// The blocks for a hash with `params`, grown once if a stored hash asks for more.
    fn blocks(&mut self, params: &Params) -> &mut [Block] {
        let count = params.block_count();
        if self.0.len() < count {
            self.0.resize(count, Block::new());
        }
        &mut self.0[..count]
    }
}

impl Default for Memory {
    fn default() -> Self {
        Self::new()
    }
}

/// Hashes with Argon2id and the crate's recommended parameters, under a fresh random salt.
/// Slow on purpose: see the module's documentation.
pub fn hash(password: &Password, memory: &mut Memory) -> Result<PasswordHash, Error> {
    let salt = argon2::password_hash::try_generate_salt().map_err(|_| Error::Crypto)?;
    let (algorithm, version, params) = (Algorithm::Argon2id, Version::V0x13, Params::DEFAULT);
    let output = compute(
        algorithm,
        version,
        &params,
        password.0.as_bytes(),
        &salt,
        memory,
    )?;
    let phc = phc::PasswordHash {
        algorithm: algorithm.ident(),
        version: Some(version.into()),
        params: ParamsString::try_from(&params)?,
        salt: Some(Salt::new(&salt)?),
        hash: Some(output),
    };
    Ok(PasswordHash(phc.to_string()))
}

/// Whether `candidate` matches `hash`. Without a hash (an unknown email) the candidate is
/// checked against a dummy hash all the same, so that both answers take as long and the
/// response time does not reveal which addresses have accounts.
pub fn verify(
    candidate: &str,
    hash: Option<&PasswordHash>,
    memory: &mut Memory,
) -> Result<bool, Error> {
    let stored = phc::PasswordHash::new(hash.map_or(DUMMY_HASH, |hash| hash.0.as_str()))?;
    let (Some(salt), Some(expected)) = (&stored.salt, &stored.hash) else {
        return Ok(false);
    };
    let algorithm = Algorithm::try_from(stored.algorithm.as_str())?;
    let version = stored
        .version
        .map(Version::try_from)
        .transpose()?
        .unwrap_or_default();
    let params = Params::try_from(&stored)?;
    let computed = compute(
        algorithm,
        version,
        &params,
        candidate.as_bytes(),
        salt.as_ref(),
        memory,
    )?;
    // `Output`'s equality is constant-time.
    Ok(hash.is_some() && computed == *expected)
}

/// The Argon2 output of `password` under `salt`, computed in `memory`.
fn compute(
    algorithm: Algorithm,
    version: Version,
    params: &Params,
    password: &[u8],
    salt: &[u8],
    memory: &mut Memory,
) -> Result<Output, Error> {
    let mut buffer = [0u8; Output::MAX_LENGTH];
    let out = buffer
        .get_mut(..params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN))
        .ok_or(Error::OutputSize)?;
    Argon2::new(algorithm, version, params.clone()).hash_password_into_with_memory(
        password,
        salt,
        out,
        memory.blocks(params),
    )?;
    Ok(Output::new(out)?)
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
        let memory = &mut Memory::new();
        let password = Password::parse("correct horse battery".to_owned()).expect("valid");
        let hash = hash(&password, memory).expect("hash");
        assert!(hash.0.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("correct horse battery", Some(&hash), memory).expect("verify"));
        assert!(!verify("wrong horse battery", Some(&hash), memory).expect("verify"));
        assert!(!verify("anything at all", None, memory).expect("verify"));
        assert!(
            !verify("correct horse battery", None, memory).expect("verify"),
            "no account, no match, whatever the password"
        );
    }

    #[test]
    fn hashes_are_what_the_argon2_crate_computes_and_verifies() {
        use argon2::{PasswordHasher as _, PasswordVerifier as _};
        let memory = &mut Memory::new();
        let ours = hash(
            &Password::parse("a shared secret".to_owned()).expect("valid"),
            memory,
        )
        .expect("hash");
        assert!(
            Argon2::default()
                .verify_password(b"a shared secret", ours.0.as_str())
                .is_ok(),
            "the crate accepts our hash"
        );
        let theirs = Argon2::default()
            .hash_password(b"another secret")
            .expect("hash")
            .to_string();
        assert!(
            verify(
                "another secret",
                Some(&PasswordHash(theirs.clone())),
                memory
            )
            .expect("verify")
        );
        assert!(!verify("not it at all", Some(&PasswordHash(theirs)), memory).expect("verify"));
    }

    #[test]
    fn a_stored_hash_with_more_memory_still_verifies() {
        use argon2::PasswordHasher as _;
        let params = Params::new(2 * Params::DEFAULT_M_COST, 2, 1, None).expect("params");
        let stronger = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(b"stronger secret")
            .expect("hash")
            .to_string();
        let memory = &mut Memory::new();
        assert!(verify("stronger secret", Some(&PasswordHash(stronger)), memory).expect("verify"));
    }

    #[test]
    fn the_dummy_hash_costs_as_much_as_a_real_one() {
        let real = hash(
            &Password::parse("a real password".to_owned()).expect("valid"),
            &mut Memory::new(),
        )
        .expect("hash");
        let params = |phc: &str| phc.split('$').take(4).collect::<Vec<_>>().join("$");
        assert_eq!(params(DUMMY_HASH), params(&real.0));
    }
}
