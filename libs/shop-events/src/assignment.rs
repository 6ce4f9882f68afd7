//! How many partitions a consumer holds now.
//!
//! A consumer group makes progress only through members that hold partitions. Right after
//! start-up, during a rebalance, or after a broker lost its groups, a member holds none:
//! its events wait. The broker check reports that (readiness `degraded`, see
//! `Backbone::readiness_check`), and tests wait for it to pass before they publish, instead
//! of racing the group's first assignment (tansu cannot describe groups, so the broker
//! cannot be asked).

use std::sync::{Arc, Mutex, PoisonError};

/// The partitions a consumer holds, shared between its Kafka client's rebalance callbacks
/// and whoever asks. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Assignment {
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    /// The last client id handed out.
    issued: u64,
    /// The client whose callbacks count: a replaced client may still be leaving its group,
    /// and its revocation must not wipe out the new client's assignment.
    current: u64,
    partitions: usize,
}

impl Assignment {
    /// Partitions held by the current client.
    pub fn partitions(&self) -> usize {
        self.lock().partitions
    }

    /// An id for a client about to be made, for its callbacks to report with.
    pub(crate) fn issue_client_id(&self) -> u64 {
        let mut state = self.lock();
        state.issued += 1;
        state.issued
    }

    /// Client `client` takes over: it holds nothing until its first assignment.
    pub(crate) fn take_over(&self, client: u64) {
        let mut state = self.lock();
        state.current = client;
        state.partitions = 0;
    }

    /// Client `client` now holds `partitions`; ignored unless it is the current one.
    pub(crate) fn set(&self, client: u64, partitions: usize) {
        let mut state = self.lock();
        if state.current == client {
            state.partitions = partitions;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is two integers, valid whatever a panicking holder was doing.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replaced_client_no_longer_counts() {
        let assignment = Assignment::default();
        let old = assignment.issue_client_id();
        assignment.take_over(old);
        assignment.set(old, 2);
        assert_eq!(assignment.partitions(), 2);

        let new = assignment.issue_client_id();
        assignment.set(new, 3);
        assert_eq!(assignment.partitions(), 2, "not current yet");
        assignment.take_over(new);
        assert_eq!(assignment.partitions(), 0, "a new client holds nothing yet");
        assignment.set(new, 1);
        // The old client leaves its group and is revoked: that says nothing of the new one.
        assignment.set(old, 0);
        assert_eq!(assignment.partitions(), 1);
    }
}
