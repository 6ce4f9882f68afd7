//! Every live client in the process, and its counts: what `/ops/dependencies` shows.

use crate::breaker::BreakerState;
use crate::client::Shared;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

/// Counts since the client was created, as `/ops/dependencies` shows them.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) calls: AtomicU64,
    pub(crate) failures: AtomicU64,
    pub(crate) retries: AtomicU64,
    pub(crate) short_circuited: AtomicU64,
    pub(crate) saturated: AtomicU64,
}

/// One client's state and counts: an entry of `/ops/dependencies`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DependencyReport {
    pub dependency: &'static str,
    pub instances: Vec<String>,
    pub state: BreakerState,
    pub in_flight: usize,
    pub max_concurrent: usize,
    /// Calls asked of the client (a retried call counts once).
    pub calls: u64,
    /// Attempts that failed: no answer, or a 5xx.
    pub failures: u64,
    pub retries: u64,
    /// Calls failed at once because the breaker was open.
    pub short_circuited: u64,
    /// Calls failed at once because the bulkhead was full.
    pub saturated: u64,
}

/// Every live client, for [`dependencies`].
static REGISTRY: Mutex<Vec<Weak<Shared>>> = Mutex::new(Vec::new());

/// The state and counts of every client alive in this process, by dependency name.
pub fn dependencies() -> Vec<DependencyReport> {
    let mut registry = REGISTRY
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    registry.retain(|client| client.strong_count() > 0);
    let mut reports: Vec<_> = registry
        .iter()
        .filter_map(Weak::upgrade)
        .map(|shared| shared.report())
        .collect();
    reports.sort_by(|a, b| a.dependency.cmp(b.dependency));
    reports
}

/// Lists a new client (and forgets those dropped since).
pub(crate) fn register(shared: &Arc<Shared>) {
    let mut registry = REGISTRY
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    registry.retain(|client| client.strong_count() > 0);
    registry.push(Arc::downgrade(shared));
}

impl Shared {
    /// This client's entry of `/ops/dependencies`.
    pub(crate) fn report(&self) -> DependencyReport {
        let count = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let max_concurrent = self.settings.max_concurrent;
        DependencyReport {
            dependency: self.service,
            instances: self.instances.clone(),
            state: self.breaker.state(),
            in_flight: max_concurrent.saturating_sub(self.bulkhead.available_permits()),
            max_concurrent,
            calls: count(&self.counters.calls),
            failures: count(&self.counters.failures),
            retries: count(&self.counters.retries),
            short_circuited: count(&self.counters.short_circuited),
            saturated: count(&self.counters.saturated),
        }
    }
}
