//! The users service's errors, and their one mapping to problem+json.

use crate::hasher::HashError;
use crate::tokens::TokenError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use shop_auth::KeyError;
use shop_events::EventsError;
use shop_server::{FieldError, Problem};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the request has invalid fields")]
    Invalid(Vec<FieldError>),
    #[error("the email address is already registered")]
    EmailTaken,
    /// A wrong password and an unknown address look the same to the client.
    #[error("invalid email or password")]
    InvalidCredentials,
    #[error("too many failed sign-ins; retry in {0:?}")]
    TooManyAttempts(Duration),
    #[error("no such account")]
    AccountNotFound,
    #[error("only the account itself or an admin may see it")]
    Forbidden,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Hashing(#[from] HashError),
    #[error(transparent)]
    Signing(#[from] KeyError),
    #[error(transparent)]
    Tokens(TokenError),
    #[error(transparent)]
    Events(EventsError),
}

/// The key store's database is the service's own: an outage there is a 503 too.
impl From<TokenError> for Error {
    fn from(error: TokenError) -> Self {
        match error {
            TokenError::Database(error) => Self::Database(error),
            TokenError::Key(error) => Self::Signing(error),
            other => Self::Tokens(other),
        }
    }
}

/// The outbox is a table of the service's own: failing to write to it is a database error
/// (so an unreachable database stays a 503).
impl From<EventsError> for Error {
    fn from(error: EventsError) -> Self {
        match error {
            EventsError::Database(error) => Self::Database(error),
            other => Self::Events(other),
        }
    }
}

impl From<Error> for Problem {
    fn from(error: Error) -> Self {
        match error {
            Error::Invalid(fields) => Problem::validation(fields),
            Error::EmailTaken => Problem::conflict(
                "email-taken",
                "an account with this email address already exists",
            ),
            Error::InvalidCredentials => Problem::new(
                StatusCode::UNAUTHORIZED,
                "invalid-credentials",
                "Invalid email or password",
            ),
            // Rounded up: retrying a moment early would only be refused again.
            Error::TooManyAttempts(wait) => {
                Problem::too_many_requests(wait.as_secs() + u64::from(wait.subsec_nanos() > 0))
            }
            Error::AccountNotFound => Problem::not_found("no such account"),
            Error::Forbidden => Problem::forbidden(error.to_string()),
            Error::Database(error) => shop_db::problem(&error),
            // Every hasher busy: a burst of sign-ups, not a fault. Come back in a second.
            Error::Hashing(HashError::Busy) => {
                Problem::unavailable("too many sign-ins and sign-ups at once; retry shortly")
                    .with_retry_after(1)
            }
            Error::Hashing(error) => Problem::internal(&error),
            Error::Signing(error) => Problem::internal(&error),
            Error::Tokens(TokenError::Configured) => Problem::conflict(
                "signing-keys-configured",
                "the signing keys are configured (JWT_PRIVATE_KEY_PEM): rotate them there",
            ),
            Error::Tokens(error) => Problem::internal(&error),
            Error::Events(error) => Problem::internal(&error),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        Problem::from(self).into_response()
    }
}

/// Turns the violation of a named constraint into a domain error.
pub trait ResultExt<T> {
    fn on_constraint(self, name: &str, error: impl FnOnce() -> Error) -> Result<T, Error>;
}

impl<T> ResultExt<T> for Result<T, sqlx::Error> {
    fn on_constraint(self, name: &str, error: impl FnOnce() -> Error) -> Result<T, Error> {
        self.map_err(|e| match &e {
            sqlx::Error::Database(db) if db.constraint() == Some(name) => error(),
            _ => Error::Database(e),
        })
    }
}
