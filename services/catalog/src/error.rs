//! The catalog's errors, and their one mapping to problem+json.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use shop_server::{FieldError, Problem};
use uuid::Uuid;

/// What a client is told to wait before writing again while the database is read-only
/// (a fail-over or maintenance takes tens of seconds).
const READ_ONLY_RETRY_AFTER_SECONDS: u64 = 30;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the request has invalid fields")]
    Invalid(Vec<FieldError>),
    #[error("no product {0}")]
    ProductNotFound(Uuid),
    #[error("no category {0:?}")]
    UnknownCategory(String),
    #[error("sku {0:?} belongs to another product")]
    SkuTaken(String),
    /// A replace whose `If-Match` names a version the product no longer has.
    #[error("product {0} changed since it was read")]
    EditConflict(Uuid),
    /// A replace without `If-Match`.
    #[error("a replace must say which version it replaces (If-Match)")]
    VersionRequired,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// An event could not be added to the outbox.
    #[error("outbox: {0}")]
    Outbox(#[from] shop_events::EventsError),
    /// A broken invariant: a bug, reported as a 500.
    #[error("{0}")]
    Internal(String),
}

impl Error {
    /// The database refused a write because it is read-only (SQLSTATE 25006
    /// `read_only_sql_transaction`): a replica promoted for reads, or maintenance.
    pub fn is_read_only(&self) -> bool {
        let database = match self {
            Self::Database(error) | Self::Outbox(shop_events::EventsError::Database(error)) => {
                error
            }
            _ => return false,
        };
        database
            .as_database_error()
            .and_then(|error| error.code())
            .is_some_and(|code| code == "25006")
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, message)])
    }
}

impl From<Error> for Problem {
    fn from(error: Error) -> Self {
        if error.is_read_only() {
            tracing::warn!(%error, "write refused: the database is read-only");
            return Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "read-only",
                "The catalog is read-only for now",
            )
            .with_detail("browsing works; changes are refused until the database accepts writes")
            .with_retry_after(READ_ONLY_RETRY_AFTER_SECONDS);
        }
        match error {
            Error::Invalid(fields) => Problem::validation(fields),
            Error::ProductNotFound(id) => Problem::not_found(format!("no product {id}")),
            Error::UnknownCategory(slug) => {
                Problem::invalid_field("category_slug", format!("no category {slug:?}"))
            }
            Error::SkuTaken(sku) => Problem::conflict(
                "sku-taken",
                format!("sku {sku:?} belongs to another product"),
            ),
            Error::EditConflict(id) => Problem::new(
                StatusCode::PRECONDITION_FAILED,
                "edit-conflict",
                "The product changed since it was read",
            )
            .with_detail(format!(
                "product {id} has a new version (its stock moves with every order): \
                 read it again, and send its ETag in If-Match"
            )),
            Error::VersionRequired => Problem::new(
                StatusCode::PRECONDITION_REQUIRED,
                "version-required",
                "Say which version you replace",
            )
            .with_detail(
                "send the ETag of the product as you read it in If-Match, so that a change \
                 made meanwhile (an order reserving stock) is not overwritten",
            ),
            Error::Database(error) | Error::Outbox(shop_events::EventsError::Database(error)) => {
                shop_db::problem(&error)
            }
            Error::Outbox(error) => Problem::internal(&error),
            Error::Internal(cause) => Problem::internal(&cause),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        Problem::from(self).into_response()
    }
}
