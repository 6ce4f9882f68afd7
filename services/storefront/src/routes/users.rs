//! Accounts and sign-in, through the storefront.

use crate::app::AppState;
use crate::error::Error;
use crate::forward::{Incoming, PassThroughErrors};
use axum::extract::State;
use axum::response::Response;
use http::Method;

/// Registers a customer: the users service's `POST /v1/users`.
#[utoipa::path(post, path = "/api/users", tag = "users",
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses(
        (status = 201, description = "The users service's answer: the new account", body = serde_json::Value),
        PassThroughErrors,
    ))]
pub async fn register(
    State(state): State<AppState>,
    incoming: Incoming,
) -> Result<Response, Error> {
    incoming
        .forward(&state.users, Method::POST, "/v1/users")
        .await
}

/// Signs in: the users service's `POST /v1/sessions`.
#[utoipa::path(post, path = "/api/sessions", tag = "users",
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses(
        (status = 200, description = "The users service's answer: an access token", body = serde_json::Value),
        PassThroughErrors,
    ))]
pub async fn sign_in(State(state): State<AppState>, incoming: Incoming) -> Result<Response, Error> {
    incoming
        .forward(&state.users, Method::POST, "/v1/sessions")
        .await
}

/// The signed-in account: the users service's `GET /v1/users/me`.
#[utoipa::path(get, path = "/api/me", tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The users service's answer", body = serde_json::Value),
        PassThroughErrors,
    ))]
pub async fn me(State(state): State<AppState>, incoming: Incoming) -> Result<Response, Error> {
    incoming
        .forward(&state.users, Method::GET, "/v1/users/me")
        .await
}
