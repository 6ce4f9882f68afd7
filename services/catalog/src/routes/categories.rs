//! `/v1/categories`: the groups products belong to.

use crate::app::AppState;
use crate::db;
use crate::domain::product::Category;
use crate::error::Error;
use axum::extract::State;
use shop_api::{Page, PageQuery};
use shop_server::{Json, Problem, Query};

/// Lists the categories by name.
#[utoipa::path(
    get,
    path = "/v1/categories",
    tag = "categories",
    params(PageQuery),
    responses(
        (status = 200, description = "One page of categories", body = Page<Category>),
        (status = 422, description = "An invalid `page` or `per_page`", body = Problem,
            content_type = "application/problem+json"),
    )
)]
pub async fn list_categories(
    State(state): State<AppState>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<Category>>, Error> {
    page.validate()
        .map_err(|(field, message)| Error::invalid(field, message))?;
    let (categories, total) = db::categories::list(&state.db, page).await?;
    Ok(Json(Page::new(categories, page, total)))
}
