//! A retry budget: retries may add at most a fraction of the requests, plus a small floor,
//! so that when a dependency is down for everyone, retries cannot multiply the load on it.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many retries a budget allows.
#[derive(Debug, Clone, Copy)]
pub struct BudgetSettings {
    /// Retries allowed per first attempt (0.1: one retry per ten requests).
    pub ratio: f64,
    /// Retries allowed in every window whatever the traffic, so a quiet service can retry.
    pub floor: u32,
    /// The counts start again after this long.
    pub window: Duration,
}

impl Default for BudgetSettings {
    fn default() -> Self {
        Self {
            ratio: 0.1,
            floor: 3,
            window: Duration::from_secs(10),
        }
    }
}

#[derive(Debug)]
struct Counts {
    started: Instant,
    requests: u64,
    retries: u64,
}

/// Counts requests and retries in a fixed window; see [`BudgetSettings`].
#[derive(Debug)]
pub struct RetryBudget {
    settings: BudgetSettings,
    counts: Mutex<Counts>,
}

impl RetryBudget {
    pub fn new(settings: BudgetSettings) -> Self {
        Self {
            settings,
            counts: Mutex::new(Counts {
                started: Instant::now(),
                requests: 0,
                retries: 0,
            }),
        }
    }

    /// Counts a first attempt.
    pub fn deposit(&self) {
        self.with_counts(|counts| counts.requests += 1);
    }

    /// Takes one retry from the budget, if it has one left.
    pub fn withdraw(&self) -> bool {
        let BudgetSettings { ratio, floor, .. } = self.settings;
        self.with_counts(|counts| {
            // Whole retries only: 9 requests at 10 % earn none beyond the floor.
            let earned = (counts.requests as f64 * ratio).floor() as u64;
            let allowed = u64::from(floor) + earned;
            let granted = counts.retries < allowed;
            if granted {
                counts.retries += 1;
            }
            granted
        })
    }

    fn with_counts<T>(&self, f: impl FnOnce(&mut Counts) -> T) -> T {
        // A poisoned lock only means another thread panicked mid-count: the counts are
        // still usable numbers.
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if counts.started.elapsed() >= self.settings.window {
            *counts = Counts {
                started: Instant::now(),
                requests: 0,
                retries: 0,
            };
        }
        f(&mut counts)
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
        assert_eq!(granted, 3 + 10);
    }

    #[test]
    fn starts_again_after_the_window() {
        let budget = RetryBudget::new(BudgetSettings {
            ratio: 0.0,
            floor: 1,
            window: Duration::from_millis(30),
        });
        assert!(budget.withdraw());
        assert!(!budget.withdraw());
        std::thread::sleep(Duration::from_millis(40));
        assert!(budget.withdraw());
    }
}
