//! The catalog's errors, and their one mapping to problem+json.

use crate::domain::InvalidField;
use axum::response::{IntoResponse, Response};
use shop_server::{FieldError, Problem};
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the request has invalid fields")]
    Invalid(Vec<InvalidField>),
    #[error("no product {0}")]
    ProductNotFound(Uuid),
    #[error("no category {0:?}")]
    UnknownCategory(String),
    #[error("sku {0:?} belongs to another product")]
    SkuTaken(String),
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
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid(vec![InvalidField::new(field, message)])
    }
}

impl From<Error> for Problem {
    fn from(error: Error) -> Self {
        match error {
            Error::Invalid(fields) => Problem::validation(
                fields
                    .into_iter()
                    .map(|InvalidField { field, message }| FieldError { field, message })
                    .collect(),
            ),
            Error::ProductNotFound(id) => Problem::not_found(format!("no product {id}")),
            Error::UnknownCategory(slug) => {
                Problem::invalid_field("category_slug", format!("no category {slug:?}"))
            }
            Error::SkuTaken(sku) => Problem::conflict(
                "sku-taken",
                format!("sku {sku:?} belongs to another product"),
            ),
            Error::Database(error) => Problem::internal(&error),
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
