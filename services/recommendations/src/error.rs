//! The service's errors and their one mapping to problem+json.
//!
//! There are few: recommendations degrade rather than fail, so no database error ever
//! reaches a client. What remains is the client's own mistakes.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};
use shop_server::Problem;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("must be between 1 and {max}")]
    InvalidLimit { max: u32 },
    #[error("personalized recommendations need the user's bearer token")]
    AuthenticationRequired,
    #[error("only user {user_id} or an admin may see their personalized recommendations")]
    NotThatUser { user_id: Uuid },
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        match self {
            Self::InvalidLimit { .. } => {
                Problem::invalid_field("limit", self.to_string()).into_response()
            }
            Self::AuthenticationRequired => {
                let mut response = Problem::unauthorized(self.to_string()).into_response();
                // RFC 6750: a 401 names the scheme to authenticate with.
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                response
            }
            Self::NotThatUser { .. } => Problem::forbidden(self.to_string()).into_response(),
        }
    }
}
