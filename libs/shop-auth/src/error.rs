//! Why a request was not let through, and how that looks on the wire.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};
use shop_server::Problem;

/// A refused token, or a bearer without the role a route needs.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the request has no bearer token")]
    MissingToken,
    #[error("the Authorization header is not `Bearer <token>`")]
    MalformedHeader,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not signed with EdDSA")]
    WrongAlgorithm,
    #[error("the token has no key id (`kid`)")]
    MissingKeyId,
    #[error("the token is signed by an unknown key")]
    UnknownKey,
    #[error("the token is invalid: {0}")]
    Invalid(#[source] jsonwebtoken::errors::Error),
    /// Signed out: the users service, which keeps the revoked tokens, refuses it.
    #[error("the token was revoked (signed out)")]
    Revoked,
    #[error("this requires the admin role")]
    Forbidden,
    /// The JWKS could not be fetched: the token may well be valid, so this is not a 401.
    #[error("the signing keys cannot be fetched: {0}")]
    KeysUnavailable(String),
}

impl From<jsonwebtoken::errors::Error> for AuthError {
    fn from(error: jsonwebtoken::errors::Error) -> Self {
        match error.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => Self::Expired,
            _ => Self::Invalid(error),
        }
    }
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        match self {
            Self::Forbidden => Problem::forbidden(self.to_string()).into_response(),
            Self::KeysUnavailable(_) => {
                tracing::warn!(error = %self, "cannot verify a token");
                Problem::unavailable("tokens cannot be verified right now").into_response()
            }
            _ => {
                // RFC 6750: a 401 names the scheme the client should authenticate with.
                let mut response = Problem::unauthorized(self.to_string()).into_response();
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                response
            }
        }
    }
}
