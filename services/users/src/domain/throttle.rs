//! Refusing password guessing: after too many failed sign-ins for one account, or from one
//! client address, further attempts are refused for the rest of the window, whatever the
//! password (so the lockout cannot be used to confirm a guess).
//!
//! Counting per account stops guessing one account's password from many addresses;
//! counting per address stops trying one password against many accounts. A successful
//! sign-in clears its account's count, not its address's.

use std::net::IpAddr;
use std::time::Duration;

/// Failed sign-ins allowed per account, and per client address, in one window.
pub const MAX_FAILURES: i32 = 5;

/// How long failures are counted, from the first one; the lockout ends with the window.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

/// Whose failures a sign-in attempt adds to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptKeys {
    /// The lower-cased email address.
    pub email: String,
    /// The client's address, when known.
    pub ip: Option<IpAddr>,
}

impl AttemptKeys {
    /// The `(scope, subject)` pairs stored in `users.login_failures`.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = vec![("email", self.email.clone())];
        if let Some(ip) = self.ip {
            pairs.push(("ip", ip.to_string()));
        }
        pairs
    }
}
