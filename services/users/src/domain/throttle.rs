//! Refusing password guessing: after too many failed sign-ins for one account, or from one
//! client address, further attempts are refused for the rest of the window, whatever the
//! password (so the lockout cannot be used to confirm a guess).
//!
//! Counting per account stops guessing one account's password from many addresses; it is
//! strict. Counting per address stops trying one password against many accounts; it is
//! generous, because a classroom or an office signs in from one address (a NAT), and one
//! student's typos must not lock out the others. A successful sign-in clears its account's
//! count and takes itself off its address's.
//!
//! Every attempt is counted *before* its password is checked, and the check goes ahead
//! only if the count is still within the limit: the count is one atomic update per key, so
//! a burst of concurrent guesses gets no more checks than the limit, however it is timed.

use std::net::IpAddr;
use std::time::Duration;

/// How long failures are counted, from the first one; the lockout ends with the window.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

/// Failed sign-ins allowed in one window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Per account: OWASP's authentication cheat sheet suggests a handful.
    pub per_account: u32,
    /// Per client address: a class of 30 mistyping three times each fits under 100.
    pub per_address: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            per_account: 5,
            per_address: 100,
        }
    }
}

/// What a sign-in attempt counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Account,
    Address,
}

impl Scope {
    /// Its name in `users.login_failures.scope`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Account => "email",
            Self::Address => "ip",
        }
    }

    pub fn limit(self, limits: &Limits) -> u32 {
        match self {
            Self::Account => limits.per_account,
            Self::Address => limits.per_address,
        }
    }
}

/// One key's count after this attempt was added to it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Count {
    /// Attempts in the window, this one included (those being checked right now too).
    pub attempts: u32,
    /// Until the window ends.
    pub remaining: Duration,
}

impl Count {
    /// `None` when this attempt may be checked; else how long until the next one may.
    pub fn refusal(&self, limit: u32) -> Option<Duration> {
        (self.attempts > limit).then_some(self.remaining)
    }
}

/// The keys an attempt counts against: the lower-cased email address, and the client's
/// address when known.
pub fn keys(email_key: &str, ip: Option<IpAddr>) -> Vec<(Scope, String)> {
    let mut keys = vec![(Scope::Account, email_key.to_owned())];
    if let Some(ip) = ip {
        keys.push((Scope::Address, ip.to_string()));
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_attempt_past_the_limit_is_refused_until_the_window_ends() {
        let count = |attempts| Count {
            attempts,
            remaining: Duration::from_secs(60),
        };
        assert_eq!(count(5).refusal(5), None);
        assert_eq!(count(6).refusal(5), Some(Duration::from_secs(60)));
    }

    #[test]
    fn an_address_is_a_key_only_when_known() {
        assert_eq!(keys("ada@example.com", None).len(), 1);
        let both = keys("ada@example.com", "203.0.113.7".parse().ok());
        assert_eq!(both[1], (Scope::Address, "203.0.113.7".to_owned()));
    }

    #[test]
    fn an_address_allows_more_failures_than_an_account() {
        let limits = Limits::default();
        assert!(Scope::Address.limit(&limits) > 10 * Scope::Account.limit(&limits));
    }
}
