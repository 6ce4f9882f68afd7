//! A circuit breaker per dependency.
//!
//! **Closed**: calls go through and their outcomes are kept for a rolling window. When at
//! least `minimum_calls` outcomes are in the window and the share of failures reaches
//! `failure_rate`, the breaker **opens**: calls fail at once, without touching the network,
//! for `cool_down`. Then it is **half-open**: one probe call goes through; its success closes
//! the breaker, its failure opens it again for another cool-down.
//!
//! The state is exported as the gauge `circuit_breaker_state{dependency}` (0 closed,
//! 1 half-open, 2 open) and logged at every change.

use serde::Serialize;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// When a breaker opens and how long it stays open.
#[derive(Debug, Clone, Copy)]
pub struct BreakerSettings {
    /// The share of failed calls (0.0–1.0) in the window that opens the breaker.
    pub failure_rate: f64,
    /// Fewer calls than this in the window never open it: two failures out of two say little.
    pub minimum_calls: usize,
    /// How far back outcomes count.
    pub window: Duration,
    /// How long an open breaker fails calls before letting a probe through.
    pub cool_down: Duration,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        Self {
            failure_rate: 0.5,
            minimum_calls: 10,
            window: Duration::from_secs(10),
            cool_down: Duration::from_secs(5),
        }
    }
}

/// What a breaker is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BreakerState {
    Closed,
    HalfOpen,
    Open,
}

impl BreakerState {
    /// The value of the `circuit_breaker_state` gauge.
    pub fn gauge_value(self) -> f64 {
        match self {
            Self::Closed => 0.0,
            Self::HalfOpen => 1.0,
            Self::Open => 2.0,
        }
    }
}

#[derive(Debug)]
enum Phase {
    Closed,
    Open {
        until: Instant,
    },
    /// `probe_sent`: when the probe went; if it never reports (its caller gave up), another
    /// may go after a cool-down.
    HalfOpen {
        probe_sent: Instant,
    },
}

#[derive(Debug)]
struct Inner {
    phase: Phase,
    /// (when, succeeded), oldest first, only while closed.
    outcomes: VecDeque<(Instant, bool)>,
}

/// One dependency's breaker. See the module documentation.
#[derive(Debug)]
pub struct CircuitBreaker {
    dependency: &'static str,
    settings: BreakerSettings,
    inner: Mutex<Inner>,
}

impl CircuitBreaker {
    pub fn new(dependency: &'static str, settings: BreakerSettings) -> Self {
        let breaker = Self {
            dependency,
            settings,
            inner: Mutex::new(Inner {
                phase: Phase::Closed,
                outcomes: VecDeque::new(),
            }),
        };
        breaker.export(BreakerState::Closed);
        breaker
    }

    /// The state now (an open breaker whose cool-down is over reads as half-open).
    pub fn state(&self) -> BreakerState {
        let inner = self.lock();
        match inner.phase {
            Phase::Closed => BreakerState::Closed,
            Phase::Open { until } if Instant::now() < until => BreakerState::Open,
            Phase::Open { .. } | Phase::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// May a call go now? `false` means fail fast.
    pub fn allow(&self) -> bool {
        let now = Instant::now();
        let mut inner = self.lock();
        match inner.phase {
            Phase::Closed => true,
            Phase::Open { until } if now < until => false,
            Phase::Open { .. } => {
                inner.phase = Phase::HalfOpen { probe_sent: now };
                drop(inner);
                self.changed(BreakerState::HalfOpen);
                true
            }
            Phase::HalfOpen { probe_sent } if now >= probe_sent + self.settings.cool_down => {
                inner.phase = Phase::HalfOpen { probe_sent: now };
                true
            }
            Phase::HalfOpen { .. } => false,
        }
    }

    /// Reports the outcome of a call that [`allow`](Self::allow) let through.
    pub fn record(&self, succeeded: bool) {
        let now = Instant::now();
        let mut inner = self.lock();
        let changed = match inner.phase {
            Phase::Closed => {
                inner.outcomes.push_back((now, succeeded));
                let window = self.settings.window;
                while inner
                    .outcomes
                    .front()
                    .is_some_and(|(at, _)| now.duration_since(*at) > window)
                {
                    inner.outcomes.pop_front();
                }
                let calls = inner.outcomes.len();
                let failures = inner.outcomes.iter().filter(|(_, ok)| !ok).count();
                let rate = failures as f64 / calls.max(1) as f64;
                if calls >= self.settings.minimum_calls && rate >= self.settings.failure_rate {
                    inner.outcomes.clear();
                    inner.phase = Phase::Open {
                        until: now + self.settings.cool_down,
                    };
                    Some(BreakerState::Open)
                } else {
                    None
                }
            }
            Phase::HalfOpen { .. } if succeeded => {
                inner.phase = Phase::Closed;
                Some(BreakerState::Closed)
            }
            Phase::HalfOpen { .. } => {
                inner.phase = Phase::Open {
                    until: now + self.settings.cool_down,
                };
                Some(BreakerState::Open)
            }
            // A late answer to a call made before the breaker opened changes nothing.
            Phase::Open { .. } => None,
        };
        drop(inner);
        if let Some(state) = changed {
            self.changed(state);
        }
    }

    fn changed(&self, state: BreakerState) {
        tracing::warn!(dependency = self.dependency, state = ?state, "circuit breaker changed state");
        self.export(state);
    }

    fn export(&self, state: BreakerState) {
        metrics::gauge!("circuit_breaker_state", "dependency" => self.dependency)
            .set(state.gauge_value());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The state stays consistent between statements: a panic elsewhere cannot break it.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quick() -> BreakerSettings {
        BreakerSettings {
            failure_rate: 0.5,
            minimum_calls: 4,
            window: Duration::from_secs(10),
            cool_down: Duration::from_millis(50),
        }
    }

    #[test]
    fn opens_only_past_the_minimum_number_of_calls_and_the_failure_rate() {
        let breaker = CircuitBreaker::new("unit", quick());
        for _ in 0..3 {
            assert!(breaker.allow());
            breaker.record(false);
        }
        assert_eq!(breaker.state(), BreakerState::Closed, "3 calls < minimum");
        breaker.record(false);
        assert_eq!(breaker.state(), BreakerState::Open);
        assert!(!breaker.allow());
    }

    #[test]
    fn a_low_failure_rate_keeps_it_closed() {
        let breaker = CircuitBreaker::new("unit", quick());
        // One failure in four stays under 50 %.
        for i in 0..20 {
            breaker.record(i % 4 != 0);
        }
        assert_eq!(breaker.state(), BreakerState::Closed);
    }

    #[test]
    fn one_probe_after_the_cool_down_closes_or_reopens_it() {
        let breaker = CircuitBreaker::new("unit", quick());
        (0..4).for_each(|_| breaker.record(false));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
        assert!(breaker.allow(), "the probe");
        assert!(!breaker.allow(), "only one probe at a time");
        breaker.record(false);
        assert_eq!(breaker.state(), BreakerState::Open);
        std::thread::sleep(Duration::from_millis(60));
        assert!(breaker.allow());
        breaker.record(true);
        assert_eq!(breaker.state(), BreakerState::Closed);
    }
}
