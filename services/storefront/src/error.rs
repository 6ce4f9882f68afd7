//! The storefront's errors and their one mapping to problem+json.
//!
//! The services behind it answer for themselves (their problems pass through unchanged);
//! what the storefront adds is the case where one of them does not answer at all.

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use shop_http::CallError;
use shop_server::Problem;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Upstream(#[from] CallError),
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        match self {
            // Building a request fails only on a bug of ours, never on a client's input.
            Self::Upstream(error @ CallError::Build { .. }) => {
                Problem::internal(&error).into_response()
            }
            Self::Upstream(error) => {
                tracing::warn!(%error, "upstream unavailable");
                let service = error.service();
                // The cause (an address, a socket error) stays in the log.
                let detail = match error {
                    CallError::Timeout { .. } => {
                        format!("the {service} service did not answer in time")
                    }
                    CallError::CircuitOpen { .. } => {
                        format!("the {service} service is failing; calls to it are paused")
                    }
                    CallError::Saturated { .. } => {
                        format!("the {service} service has too many calls in flight")
                    }
                    _ => format!("the {service} service cannot be reached"),
                };
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "upstream-unavailable",
                    "A service behind the storefront is unavailable",
                )
                .with_detail(detail)
                .with_extension("service", service.into())
                .into_response()
            }
        }
    }
}
