//! Checkout and order history, through the storefront.

use crate::app::AppState;
use crate::error::Error;
use crate::forward::{Incoming, PassThroughErrors};
use axum::extract::State;
use axum::response::Response;
use http::Method;
use shop_server::Path;
use uuid::Uuid;

/// Places an order: the orders service's `POST /v1/orders`.
#[utoipa::path(post, path = "/api/orders", tag = "orders",
    params(("Idempotency-Key" = String, Header,
        description = "A unique key per order the client means to place, reused on retries")),
    request_body(content = serde_json::Value, content_type = "application/json",
        description = "`{items: [{product_id, quantity}]}`"),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "The orders service's answer: the order, pending confirmation",
            body = serde_json::Value),
        PassThroughErrors,
    ))]
pub async fn place(State(state): State<AppState>, incoming: Incoming) -> Result<Response, Error> {
    incoming
        .forward(&state.orders, Method::POST, "/v1/orders")
        .await
}

/// The caller's orders: the orders service's `GET /v1/orders`, with the same query.
#[utoipa::path(get, path = "/api/orders", tag = "orders",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The orders service's answer", body = serde_json::Value),
        PassThroughErrors,
    ))]
pub async fn list(State(state): State<AppState>, incoming: Incoming) -> Result<Response, Error> {
    incoming
        .forward(&state.orders, Method::GET, "/v1/orders")
        .await
}

/// One order: the orders service's `GET /v1/orders/{id}`.
#[utoipa::path(get, path = "/api/orders/{id}", tag = "orders",
    params(("id" = Uuid, Path, description = "The order's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The orders service's answer", body = serde_json::Value),
        PassThroughErrors,
    ))]
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    incoming: Incoming,
) -> Result<Response, Error> {
    let path = format!("/v1/orders/{id}");
    incoming.forward(&state.orders, Method::GET, &path).await
}

/// Cancels an order: the orders service's `POST /v1/orders/{id}/cancel`.
#[utoipa::path(post, path = "/api/orders/{id}/cancel", tag = "orders",
    params(("id" = Uuid, Path, description = "The order's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The orders service's answer: the cancelled order",
            body = serde_json::Value),
        PassThroughErrors,
    ))]
pub async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    incoming: Incoming,
) -> Result<Response, Error> {
    let path = format!("/v1/orders/{id}/cancel");
    incoming.forward(&state.orders, Method::POST, &path).await
}
