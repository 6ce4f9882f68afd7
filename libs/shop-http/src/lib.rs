//! The client every Harbor Shop service uses to call another over HTTP.
//!
//! Each call opens a client span (OpenTelemetry HTTP conventions), and carries the caller's
//! trace context (`traceparent`) and request id (`x-request-id`), so the callee's work joins
//! the same trace and the same log search. Errors are typed: a caller can tell "the other
//! service said no" ([`CallError::Status`]) from "the other service is not there"
//! ([`CallError::Unreachable`], [`CallError::Timeout`]) and from "we did not even try"
//! ([`CallError::CircuitOpen`], [`CallError::Saturated`]).
//!
//! Every call is also made resilient, in this one place (`docs/resilience.md` has the
//! numbers and why):
//!
//! - **a deadline**: the tighter of the client's timeout and what is left of the current
//!   request's deadline minus a margin ([`deadline`]); the callee learns it from the
//!   `x-request-deadline` header and stops working when it passes;
//! - **a bulkhead**: at most [`ClientSettings::max_concurrent`] calls in flight per
//!   dependency; one more fails at once with [`CallError::Saturated`];
//! - **a circuit breaker** per dependency ([`breaker`]): when most recent calls failed, calls
//!   fail at once with [`CallError::CircuitOpen`] until a probe succeeds;
//! - **at most one retry**, only of an idempotent method (GET, HEAD, PUT, DELETE, OPTIONS)
//!   after a failure that a retry can fix (no connection; 502, 503, 504), after a jittered
//!   pause, to *another* instance when the client knows more than one, and only while the
//!   retry budget ([`budget`]) allows: retries add at most 10 % to the load.
//!
//! Every live client is listed by [`dependencies`], which `shop-server` serves at
//! `/ops/dependencies`.

pub mod breaker;
pub mod budget;
mod client;
pub mod deadline;
mod error;
mod registry;
mod settings;

pub use breaker::{BreakerSettings, BreakerState, CircuitBreaker};
pub use budget::{BudgetSettings, RetryBudget};
pub use client::{RawResponse, ServiceClient};
pub use error::CallError;
pub use registry::{DependencyReport, dependencies};
pub use settings::{ClientSettings, POOL_IDLE_TIMEOUT};
