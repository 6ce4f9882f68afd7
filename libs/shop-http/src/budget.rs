//! A retry budget: retries may add at most a fraction of the requests, plus a small floor,
//! so that when a dependency is down for everyone, retries cannot multiply the load on it.
//!
//! The counting is tower's `TpsBudget` (Finagle's design): each request deposits, each
//! retry withdraws, over a window that slides in tenths, so no instant resets every count
//! at once and lets a burst of retries through.

use std::time::Duration;
use tower::retry::budget::{Budget, TpsBudget};

/// How many retries a budget allows.
#[derive(Debug, Clone, Copy)]
pub struct BudgetSettings {
    /// Retries allowed per request (0.1: one retry per ten requests).
    pub ratio: f32,
    /// Retries allowed per second whatever the traffic, so a quiet service can retry.
    pub min_per_sec: u32,
    /// How long a request counts: 1 to 60 s (tower's bounds; other values are clamped).
    pub window: Duration,
}

impl Default for BudgetSettings {
    fn default() -> Self {
        Self {
            ratio: 0.1,
            min_per_sec: 1,
            window: Duration::from_secs(10),
        }
    }
}

/// Counts requests and retries over a sliding window; see [`BudgetSettings`].
#[derive(Debug)]
pub struct RetryBudget {
    budget: TpsBudget,
}

impl RetryBudget {
    pub fn new(settings: BudgetSettings) -> Self {
        let BudgetSettings {
            ratio,
            min_per_sec,
            window,
        } = settings;
        // `TpsBudget::new` asserts its bounds; the settings are the code's, not a user's.
        let window = window.clamp(Duration::from_secs(1), Duration::from_secs(60));
        Self {
            budget: TpsBudget::new(window, min_per_sec, ratio.clamp(0.0, 1000.0)),
        }
    }

    /// Counts a first attempt.
    pub fn deposit(&self) {
        self.budget.deposit();
    }

    /// Takes one retry from the budget, if it has one left.
    pub fn withdraw(&self) -> bool {
        self.budget.withdraw()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_the_floor_then_a_tenth_of_the_requests() {
        let budget = RetryBudget::new(BudgetSettings::default());
        for _ in 0..100 {
            budget.deposit();
        }
        let granted = (0..100).filter(|_| budget.withdraw()).count();
        // The floor over the window (1 per second for 10 s) plus 10 % of 100 requests.
        assert_eq!(granted, 10 + 10);
    }

    #[test]
    fn without_a_ratio_or_a_floor_nothing_is_retried() {
        let budget = RetryBudget::new(BudgetSettings {
            ratio: 0.0,
            min_per_sec: 0,
            window: Duration::from_secs(60),
        });
        for _ in 0..100 {
            budget.deposit();
        }
        assert!(!budget.withdraw());
    }
}
