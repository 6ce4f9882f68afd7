//! `/v1/categories`: the groups products belong to.

use crate::app::AppState;
use crate::domain::product::Category;
use crate::error::Error;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use shop_api::{Page, PageQuery};
use shop_server::{Problem, Query};

/// Lists the categories by name.
#[utoipa::path(
    get,
    path = "/v1/categories",
    tag = "categories",
    params(
        PageQuery,
        ("If-None-Match" = Option<String>, Header,
            description = "An `ETag` this page had: `304` if it still has it"),
    ),
    responses(
        (status = 200, description = "One page of categories", body = Page<Category>, headers(
            ("ETag" = String, description = "This version of the page (strong)"),
            ("Cache-Control" = String, description = "`no-cache`: keep it, but revalidate \
                with `If-None-Match`"),
        )),
        (status = 304, description = "Not modified: `If-None-Match` names the current \
            `ETag`; no body", headers(
            ("ETag" = String, description = "The current version, unchanged"),
            ("Cache-Control" = String, description = "`no-cache`"),
        )),
        (status = 422, description = "An invalid `page` or `per_page`", body = Problem,
            content_type = "application/problem+json"),
    )
)]
pub async fn list_categories(
    State(state): State<AppState>,
    Query(page): Query<PageQuery>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    page.validate()
        .map_err(|(field, message)| Error::invalid(field, message))?;
    let categories = state.read_model.category_page(&state.db, page).await?;
    Ok(super::conditional(&headers, &categories))
}
