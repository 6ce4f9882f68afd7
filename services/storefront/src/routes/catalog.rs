//! The catalog, through the storefront.

use crate::app::AppState;
use crate::error::Error;
use crate::forward::{Incoming, PassThroughErrors};
use axum::extract::State;
use axum::response::Response;
use http::Method;
use shop_server::Path;
use uuid::Uuid;

/// The categories: the catalog's `GET /v1/categories`.
#[utoipa::path(get, path = "/api/categories", tag = "catalog",
    responses(
        (status = 200, description = "The catalog's answer", body = serde_json::Value),
        PassThroughErrors,
    ))]
pub async fn categories(
    State(state): State<AppState>,
    incoming: Incoming,
) -> Result<Response, Error> {
    incoming
        .forward(&state.catalog, Method::GET, "/v1/categories")
        .await
}

/// A page of products: the catalog's `GET /v1/products`, with the same query parameters.
#[utoipa::path(get, path = "/api/products", tag = "catalog",
    responses(
        (status = 200, description = "The catalog's answer", body = serde_json::Value),
        PassThroughErrors,
    ))]
pub async fn products(
    State(state): State<AppState>,
    incoming: Incoming,
) -> Result<Response, Error> {
    incoming
        .forward(&state.catalog, Method::GET, "/v1/products")
        .await
}

/// One product: the catalog's `GET /v1/products/{id}`.
#[utoipa::path(get, path = "/api/products/{id}", tag = "catalog",
    params(("id" = Uuid, Path, description = "The product's id")),
    responses(
        (status = 200, description = "The catalog's answer", body = serde_json::Value),
        PassThroughErrors,
    ))]
pub async fn product(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    incoming: Incoming,
) -> Result<Response, Error> {
    let path = format!("/v1/products/{id}");
    incoming.forward(&state.catalog, Method::GET, &path).await
}
