//! The orders service's errors, and their one mapping to HTTP problems.

use crate::domain::order::OrderStatus;
use axum::response::{IntoResponse, Response};
use shop_http::CallError;
use shop_server::{FieldError, Problem};
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum OrdersError {
    /// Missing, or someone else's: the two look the same from outside.
    #[error("order {0} not found")]
    NotFound(Uuid),
    #[error("an order in status {0} cannot be cancelled")]
    NotCancellable(OrderStatus),
    #[error("no usable Idempotency-Key")]
    IdempotencyKeyMissing,
    #[error("this Idempotency-Key was used for a different order")]
    IdempotencyKeyReused,
    #[error("catalog is unavailable: {0}")]
    CatalogUnavailable(#[source] CallError),
    #[error("invalid request: {0:?}")]
    Invalid(Vec<FieldError>),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("outbox error: {0}")]
    Outbox(#[from] shop_events::EventsError),
}

impl From<OrdersError> for Problem {
    fn from(error: OrdersError) -> Self {
        use http::StatusCode;
        match error {
            OrdersError::NotFound(id) => Problem::not_found(format!("no order {id}")),
            OrdersError::NotCancellable(status) => Problem::conflict(
                "order-not-cancellable",
                format!("the order is {status}; only pending or confirmed orders can be cancelled"),
            ),
            OrdersError::IdempotencyKeyMissing => Problem::new(
                StatusCode::BAD_REQUEST,
                "idempotency-key-required",
                "Idempotency-Key required",
            )
            .with_detail("send an Idempotency-Key header of 1 to 255 characters, unique per order"),
            OrdersError::IdempotencyKeyReused => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency-key-reused",
                "Idempotency-Key reused",
            )
            .with_detail("this key was already used for a different order; use a new key"),
            OrdersError::CatalogUnavailable(cause) => {
                tracing::warn!(error = %cause, "catalog unavailable");
                Problem::unavailable("the catalog cannot be reached to price the order; try again")
                    .with_retry_after(5)
            }
            OrdersError::Invalid(fields) => Problem::validation(fields),
            OrdersError::Database(cause)
            | OrdersError::Outbox(shop_events::EventsError::Database(cause)) => {
                shop_db::problem(&cause)
            }
            OrdersError::Outbox(cause) => Problem::internal(&cause),
        }
    }
}

impl IntoResponse for OrdersError {
    fn into_response(self) -> Response {
        Problem::from(self).into_response()
    }
}
