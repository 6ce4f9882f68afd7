//! Password hashing with a bound on how many hashes run at once.
//!
//! Each Argon2id hash holds 19 MiB for its duration (`domain::password`). Unbounded, 32
//! sign-ups at once took the service from 14 MiB to 620 MiB resident, far past its
//! container's limit. So at most `PASSWORD_HASH_CONCURRENCY` hashes run at a time, on
//! tokio's blocking pool; a request that finds them all busy waits its turn for at most
//! [`QUEUE_WAIT`], then is answered at once with 503 and `Retry-After` rather than piling
//! up. Peak memory is then about the idle footprint plus concurrency × 19 MiB (16 + 2 × 19
//! = 54 MiB with the default 2, under compose's 96 MiB; docs/deploy.md has the budget).

use crate::domain::password::{self, Password, PasswordHash};
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// How long a request may wait for a free hasher by default: several hashes' worth, so a burst is
/// smoothed out, but short enough that a client is told to come back instead of timing out.
pub const QUEUE_WAIT: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("password hashing failed: {0}")]
    Argon2(argon2::password_hash::Error),
    #[error("the password hashing task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// Every hasher stayed busy for [`QUEUE_WAIT`]: the client should retry shortly.
    #[error("every password hasher is busy")]
    Busy,
}

/// Hashes and verifies passwords, at most `concurrency` at a time. Cheap to clone.
#[derive(Debug, Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    queue_wait: Duration,
}

impl PasswordHasher {
    pub fn new(concurrency: NonZeroUsize) -> Self {
        Self::with_queue_wait(concurrency, QUEUE_WAIT)
    }

    pub fn with_queue_wait(concurrency: NonZeroUsize, queue_wait: Duration) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrency.get())),
            queue_wait,
        }
    }

    /// A new hash of `password` (see [`password::hash`]).
    pub async fn hash(&self, password: Password) -> Result<PasswordHash, HashError> {
        self.run(move || password::hash(&password)).await
    }

    /// Whether `candidate` matches `hash` (see [`password::verify`]).
    pub async fn verify(
        &self,
        candidate: String,
        hash: Option<PasswordHash>,
    ) -> Result<bool, HashError> {
        self.run(move || password::verify(&candidate, hash.as_ref()))
            .await
    }

    /// How many more hashes could start now.
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, argon2::password_hash::Error> + Send + 'static,
    ) -> Result<T, HashError> {
        let permit = tokio::time::timeout(self.queue_wait, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| {
                metrics::counter!("password_hashes_refused_total").increment(1);
                HashError::Busy
            })?
            // The semaphore is never closed.
            .map_err(|_| HashError::Busy)?;
        let result = tokio::task::spawn_blocking(move || {
            let result = work();
            drop(permit);
            result
        })
        .await?;
        result.map_err(HashError::Argon2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password() -> Password {
        Password::parse("correct horse battery".to_owned()).expect("valid")
    }

    #[tokio::test]
    async fn hashes_and_verifies() {
        let hasher = PasswordHasher::new(NonZeroUsize::MIN);
        let hash = hasher.hash(password()).await.expect("hash");
        assert!(
            hasher
                .verify("correct horse battery".into(), Some(hash.clone()))
                .await
                .expect("verify")
        );
        assert!(
            !hasher
                .verify("wrong horse battery".into(), Some(hash))
                .await
                .expect("verify")
        );
        assert_eq!(hasher.available(), 1, "the permit is given back");
    }

    #[tokio::test]
    async fn a_request_finding_every_hasher_busy_is_refused_after_the_wait() {
        let hasher = PasswordHasher::with_queue_wait(NonZeroUsize::MIN, Duration::from_millis(1));
        let busy = {
            let hasher = hasher.clone();
            tokio::spawn(async move { hasher.hash(password()).await })
        };
        while hasher.available() > 0 {
            tokio::task::yield_now().await;
        }
        let refused = hasher.hash(password()).await;
        assert!(matches!(refused, Err(HashError::Busy)), "{refused:?}");
        busy.await.expect("task").expect("the first hash completes");
        assert!(
            hasher.hash(password()).await.is_ok(),
            "free again afterwards"
        );
    }
}
