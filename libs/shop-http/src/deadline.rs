//! Deadlines that travel with a request, so a callee never works past its caller's budget.
//!
//! On the wire a deadline is the **remaining budget in milliseconds**, in the
//! `x-request-deadline` header (`x-request-deadline: 180`). A relative budget needs no
//! synchronised clocks between hosts; what it loses (the time the request spends on the
//! wire) is covered by the margin each hop keeps for itself ([`MARGIN`]).
//!
//! Inside a service the deadline is an [`Instant`] in a task-local: the server's deadline
//! layer sets it around each request (see `shop-server`), and every [`ServiceClient`] call
//! made while handling that request gets what is left of it, minus [`MARGIN`].
//!
//! [`ServiceClient`]: crate::ServiceClient

use http::HeaderMap;
use std::future::Future;
use std::time::{Duration, Instant};

/// The header carrying the caller's remaining budget, in whole milliseconds.
pub const HEADER: &str = "x-request-deadline";

/// What each hop keeps for itself before passing its budget on: time to turn the callee's
/// answer (or its absence) into its own answer, and the time on the wire.
pub const MARGIN: Duration = Duration::from_millis(20);

tokio::task_local! {
    static DEADLINE: Instant;
}

/// Runs `future` with `deadline` as the current deadline (the tighter of it and any
/// deadline already current).
pub async fn scope<F: Future>(deadline: Instant, future: F) -> F::Output {
    let deadline = current().map_or(deadline, |outer| outer.min(deadline));
    DEADLINE.scope(deadline, future).await
}

/// The deadline of the request being handled, if any.
pub fn current() -> Option<Instant> {
    DEADLINE.try_with(|deadline| *deadline).ok()
}

/// The budget a caller sent, if the header is present and well-formed.
pub fn from_headers(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(HEADER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_millis)
}

/// The budget to give a downstream call: the time left before `deadline`, minus [`MARGIN`].
pub fn downstream_budget(deadline: Instant, now: Instant) -> Duration {
    deadline
        .saturating_duration_since(now)
        .saturating_sub(MARGIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_tighter_deadline_wins_and_none_is_current_outside_a_scope() {
        assert_eq!(current(), None);
        let now = Instant::now();
        let (near, far) = (
            now + Duration::from_millis(100),
            now + Duration::from_secs(5),
        );
        let inner = scope(near, async { scope(far, async { current() }).await }).await;
        assert_eq!(inner, Some(near));
    }

    #[test]
    fn reads_the_header_in_milliseconds() {
        let mut headers = HeaderMap::new();
        assert_eq!(from_headers(&headers), None);
        headers.insert(HEADER, http::HeaderValue::from_static("250"));
        assert_eq!(from_headers(&headers), Some(Duration::from_millis(250)));
        headers.insert(HEADER, http::HeaderValue::from_static("soon"));
        assert_eq!(from_headers(&headers), None);
    }

    #[test]
    fn a_downstream_budget_keeps_the_margin_and_never_goes_negative() {
        let now = Instant::now();
        let budget = downstream_budget(now + Duration::from_millis(200), now);
        assert_eq!(budget, Duration::from_millis(180));
        assert_eq!(downstream_budget(now, now), Duration::ZERO);
    }
}
