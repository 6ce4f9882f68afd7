//! What can go wrong with a call, typed.

/// Why a call did not produce the expected answer.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("{service} is unreachable: {source}")]
    Unreachable {
        service: &'static str,
        #[source]
        source: reqwest::Error,
    },
    #[error("{service} did not answer in time")]
    Timeout { service: &'static str },
    #[error("{service} answered {status}: {body}")]
    Status {
        service: &'static str,
        status: http::StatusCode,
        body: String,
    },
    #[error("{service} sent an unreadable answer: {source}")]
    Decode {
        service: &'static str,
        #[source]
        source: reqwest::Error,
    },
    #[error("invalid request to {service}: {source}")]
    Build {
        service: &'static str,
        #[source]
        source: reqwest::Error,
    },
    /// The breaker for this dependency is open: the call was not made.
    #[error("the circuit breaker for {service} is open")]
    CircuitOpen { service: &'static str },
    /// As many calls to this dependency as allowed are already in flight: not made either.
    #[error("too many calls to {service} in flight")]
    Saturated { service: &'static str },
}

impl CallError {
    /// The service the call was for.
    pub fn service(&self) -> &'static str {
        match self {
            Self::Unreachable { service, .. }
            | Self::Timeout { service }
            | Self::Status { service, .. }
            | Self::Decode { service, .. }
            | Self::Build { service, .. }
            | Self::CircuitOpen { service }
            | Self::Saturated { service } => service,
        }
    }

    /// The status the other service answered with, if it answered.
    pub fn status(&self) -> Option<http::StatusCode> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The call failed without reaching the network (breaker open, bulkhead full).
    pub fn is_fast_failure(&self) -> bool {
        matches!(self, Self::CircuitOpen { .. } | Self::Saturated { .. })
    }
}

/// A call that got no (complete) answer.
pub(crate) fn transport_error(service: &'static str, source: reqwest::Error) -> CallError {
    if source.is_timeout() {
        CallError::Timeout { service }
    } else {
        CallError::Unreachable { service, source }
    }
}
