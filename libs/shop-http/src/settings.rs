//! How a client protects its caller and its dependency.

use crate::breaker::BreakerSettings;
use crate::budget::BudgetSettings;
use std::time::Duration;

/// Idle pooled connections are dropped after this: well before the servers' own idle
/// timeout (`HTTP_HEADER_READ_TIMEOUT_MS`, 10 s by default), so that a request is never sent
/// on a connection the server is closing at that moment (a POST would then fail).
pub const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(5);

/// How a client protects its caller and its dependency. [`ClientSettings::new`] gives the
/// defaults for a timeout; `docs/resilience.md` explains each number.
#[derive(Debug, Clone, Copy)]
pub struct ClientSettings {
    /// The longest one call (its retry included) may take, when the request being handled
    /// has no tighter deadline.
    pub timeout: Duration,
    /// Calls in flight to this dependency at once; one more fails with `Saturated`.
    pub max_concurrent: usize,
    /// The pause before the one retry, before jitter (×0.5 to ×1.5).
    pub retry_backoff: Duration,
    pub breaker: BreakerSettings,
    pub retry_budget: BudgetSettings,
}

impl ClientSettings {
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            max_concurrent: 64,
            retry_backoff: Duration::from_millis(25),
            breaker: BreakerSettings::default(),
            retry_budget: BudgetSettings::default(),
        }
    }
}
