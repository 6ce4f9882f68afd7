//! Password hashing with a bound on how many hashes run at once, and on the memory they keep.
//!
//! Each Argon2id hash holds 19 MiB for its duration (`domain::password`). Unbounded, 32
//! sign-ups at once took the service from 14 MiB to 620 MiB resident, far past its
//! container's limit. So at most `PASSWORD_HASH_CONCURRENCY` hashes run at a time; a
//! request that finds them all busy waits its turn for at most [`QUEUE_WAIT`], then is
//! answered at once with 503 and `Retry-After` rather than piling up.
//!
//! The hashes run on that many threads of their own, each with one [`Memory`] it allocates
//! at its first hash and reuses for every later one. Bounding how many run at once was not
//! enough: with a fresh 19 MiB block per hash, glibc's malloc kept 340–590 MiB resident after
//! 32 sign-ups (`cargo xtask bench`), on tokio's blocking pool and on threads of our own
//! alike (after the first 19 MiB block is freed it raises its mmap threshold past 19 MiB,
//! and later blocks come from arenas that do not give them back). With the memory reused,
//! peak memory is the idle footprint plus concurrency × 19 MiB (16 + 2 × 19 = 54 MiB with
//! the default 2, under compose's 96 MiB; docs/deploy.md has the budget), and it stays
//! there once both threads have hashed.

use crate::domain::password::{self, Memory, Password, PasswordHash};
use std::num::NonZeroUsize;
use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Semaphore, oneshot};

/// How long a request may wait for a free hasher by default: several hashes' worth, so a burst is
/// smoothed out, but short enough that a client is told to come back instead of timing out.
pub const QUEUE_WAIT: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("password hashing failed: {0}")]
    Argon2(argon2::password_hash::Error),
    /// The hash panicked (its thread lives on for the next one), or no thread is left.
    #[error("the password hash panicked")]
    Panicked,
    /// Every hasher stayed busy for [`QUEUE_WAIT`]: the client should retry shortly.
    #[error("every password hasher is busy")]
    Busy,
}

/// One hash to run in a thread's memory, with where to send its result.
type Job = Box<dyn FnOnce(&mut Memory) + Send>;

/// Hashes and verifies passwords, at most `concurrency` at a time, each on one of as many
/// threads of its own. Cheap to clone; the threads end when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    jobs: mpsc::Sender<Job>,
    queue_wait: Duration,
}

impl PasswordHasher {
    pub fn new(concurrency: NonZeroUsize) -> std::io::Result<Self> {
        Self::with_queue_wait(concurrency, QUEUE_WAIT)
    }

    /// Starts the `concurrency` hashing threads; fails if the system cannot start one.
    pub fn with_queue_wait(
        concurrency: NonZeroUsize,
        queue_wait: Duration,
    ) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        // One queue for every thread: whichever is free takes the next job. A permit is
        // taken before a job is queued, so the queue never holds more jobs than threads.
        let queue = Arc::new(Mutex::new(queue));
        for index in 0..concurrency.get() {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("password-hasher-{index}"))
                .spawn(move || run_jobs(&queue))?;
        }
        Ok(Self {
            permits: Arc::new(Semaphore::new(concurrency.get())),
            jobs,
            queue_wait,
        })
    }

    /// A new hash of `password` (see [`password::hash`]).
    pub async fn hash(&self, password: Password) -> Result<PasswordHash, HashError> {
        self.run(move |memory| password::hash(&password, memory))
            .await
    }

    /// Whether `candidate` matches `hash` (see [`password::verify`]).
    pub async fn verify(
        &self,
        candidate: String,
        hash: Option<PasswordHash>,
    ) -> Result<bool, HashError> {
        self.run(move |memory| password::verify(&candidate, hash.as_ref(), memory))
            .await
    }

    /// How many more hashes could start now.
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Memory) -> Result<T, argon2::password_hash::Error> + Send + 'static,
    ) -> Result<T, HashError> {
        let permit = tokio::time::timeout(self.queue_wait, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| {
                metrics::counter!("password_hashes_refused_total").increment(1);
                HashError::Busy
            })?
            // The semaphore is never closed.
            .map_err(|_| HashError::Busy)?;
        let (result_tx, result_rx) = oneshot::channel();
        let job: Job = Box::new(move |memory| {
            let result = std::panic::catch_unwind(AssertUnwindSafe(|| work(memory)));
            drop(permit);
            // The request may have gone away meanwhile; nobody is left to tell.
            let _ = result_tx.send(result);
        });
        // The threads hold the queue until every sender, this one included, is dropped.
        self.jobs.send(job).map_err(|_| HashError::Panicked)?;
        match result_rx.await {
            Ok(Ok(result)) => result.map_err(HashError::Argon2),
            Ok(Err(_)) | Err(_) => Err(HashError::Panicked),
        }
    }
}

/// A hashing thread: takes jobs until the last [`PasswordHasher`] is dropped.
fn run_jobs(queue: &Mutex<mpsc::Receiver<Job>>) {
    // Allocated at the first job, not at start: an idle service stays small.
    let mut memory: Option<Memory> = None;
    loop {
        // The lock is held only while waiting for a job, never while hashing; a job's
        // panic is caught inside it, so the lock is never poisoned by one.
        let job = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(memory.get_or_insert_with(Memory::new)),
            Err(mpsc::RecvError) => return,
        }
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
        let hasher = PasswordHasher::new(NonZeroUsize::MIN).expect("threads");
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
    async fn hashes_run_on_the_hashers_own_threads_only() {
        let hasher = PasswordHasher::new(NonZeroUsize::new(2).expect("non-zero")).expect("threads");
        let names = futures::future::join_all(
            (0..6).map(|_| hasher.run(|_| Ok(std::thread::current().name().map(str::to_owned)))),
        )
        .await;
        let mut names: Vec<String> = names
            .into_iter()
            .map(|name| name.expect("ran").expect("a named thread"))
            .collect();
        names.sort();
        names.dedup();
        assert!(
            names
                .iter()
                .all(|name| name.starts_with("password-hasher-"))
                && names.len() <= 2,
            "{names:?}"
        );
    }

    #[tokio::test]
    async fn a_panicking_hash_is_an_error_and_the_thread_serves_the_next() {
        let hasher = PasswordHasher::new(NonZeroUsize::MIN).expect("threads");
        let panicked = hasher.run::<()>(|_| panic!("a hash that panics")).await;
        assert!(matches!(panicked, Err(HashError::Panicked)), "{panicked:?}");
        assert_eq!(hasher.available(), 1, "the permit is given back");
        assert!(
            hasher.hash(password()).await.is_ok(),
            "the one thread still hashes"
        );
    }

    #[tokio::test]
    async fn a_request_finding_every_hasher_busy_is_refused_after_the_wait() {
        let hasher = PasswordHasher::with_queue_wait(NonZeroUsize::MIN, Duration::from_millis(1))
            .expect("threads");
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
