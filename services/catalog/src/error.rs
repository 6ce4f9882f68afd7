//! The catalog's errors, and their one mapping to problem+json.

use crate::domain::InvalidField;
use axum::http::StatusCode;
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
    #[error("not enough stock of {0:?}")]
    OutOfStock(Vec<Uuid>),
    #[error("the reservation of order {0} was released")]
    ReservationReleased(Uuid),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
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
            Error::OutOfStock(product_ids) => {
                Problem::new(StatusCode::CONFLICT, "out-of-stock", "Not enough stock")
                    .with_detail("some products are short of stock: nothing was reserved")
                    .with_extension("product_ids", serde_json::json!(product_ids))
            }
            Error::ReservationReleased(order_id) => Problem::conflict(
                "reservation-released",
                format!(
                    "the reservation of order {order_id} was released: it cannot be made again"
                ),
            ),
            Error::Database(error) => Problem::internal(&error),
            Error::Internal(cause) => Problem::internal(&cause),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        Problem::from(self).into_response()
    }
}
