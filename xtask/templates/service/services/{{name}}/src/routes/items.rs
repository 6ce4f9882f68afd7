//! `/v1/{{name}}`: the caller's list of products.
//!
//! Adapters only: each handler reads the request, calls its action (`crate::actions`) or,
//! for a read, its query (`crate::db`), and writes the answer.

use crate::actions::remove::remove;
use crate::actions::save::{Saved, save};
use crate::app::AppState;
use crate::db;
use crate::domain::{Item, SaveItem};
use crate::error::{{Name}}Error;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use shop_auth::Authenticated;
use shop_server::{Json, Path, Problem};
use utoipa::ToSchema;
use uuid::Uuid;

/// The caller's list.
#[derive(Debug, Serialize, ToSchema)]
pub struct List {
    /// Most recently added first.
    pub items: Vec<Item>,
}

/// The caller's list, most recently added first.
#[utoipa::path(get, path = "/v1/{{name}}", tag = "{{name}}",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's list", body = List),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_items(
    State(state): State<AppState>,
    Authenticated(claims): Authenticated,
) -> Result<Json<List>, {{Name}}Error> {
    let mut conn = state.db.acquire().await?;
    let items = db::list_items(&mut conn, claims.sub).await?;
    Ok(Json(List { items }))
}

/// Put a product on the caller's list, or change its note. Saving it again changes only
/// the note (`200`); a new product is `201`.
#[utoipa::path(put, path = "/v1/{{name}}/{product_id}", tag = "{{name}}",
    params(("product_id" = Uuid, Path, description = "The product's id (as catalog knows it)")),
    request_body = SaveItem,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Already listed: the note is changed", body = Item),
        (status = 201, description = "Added to the list", body = Item),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The list is full", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid note", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn save_item(
    State(state): State<AppState>,
    Authenticated(claims): Authenticated,
    Path(product_id): Path<Uuid>,
    Json(request): Json<SaveItem>,
) -> Result<(StatusCode, Json<Item>), {{Name}}Error> {
    match save(&state.db, claims.sub, product_id, &request).await? {
        Saved::Added(item) => Ok((StatusCode::CREATED, Json(item))),
        Saved::Updated(item) => Ok((StatusCode::OK, Json(item))),
    }
}

/// Take a product off the caller's list.
#[utoipa::path(delete, path = "/v1/{{name}}/{product_id}", tag = "{{name}}",
    params(("product_id" = Uuid, Path, description = "The product's id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Taken off the list"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not on the list", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn remove_item(
    State(state): State<AppState>,
    Authenticated(claims): Authenticated,
    Path(product_id): Path<Uuid>,
) -> Result<StatusCode, {{Name}}Error> {
    remove(&state.db, claims.sub, product_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
