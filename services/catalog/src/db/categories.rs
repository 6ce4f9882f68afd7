//! Queries on `catalog.categories`.

use crate::domain::product::Category;
use shop_api::PageQuery;
use shop_db::query_span;
use sqlx::{PgExecutor, PgPool};
use tracing::Instrument;
use uuid::Uuid;

/// One page of categories by name, and how many there are.
pub async fn list(pool: &PgPool, page: PageQuery) -> Result<(Vec<Category>, i64), sqlx::Error> {
    let categories = sqlx::query_as!(
        Category,
        "SELECT id, slug, name FROM catalog.categories ORDER BY name, id LIMIT $1 OFFSET $2",
        page.limit(),
        page.offset(),
    )
    .fetch_all(pool)
    .instrument(query_span("SELECT", "categories"))
    .await?;
    let total = sqlx::query_scalar!(r#"SELECT count(*) AS "total!" FROM catalog.categories"#)
        .fetch_one(pool)
        .instrument(query_span("SELECT", "categories"))
        .await?;
    Ok((categories, total))
}

/// The id of the category with this slug.
pub async fn id_by_slug(db: impl PgExecutor<'_>, slug: &str) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!("SELECT id FROM catalog.categories WHERE slug = $1", slug)
        .fetch_optional(db)
        .instrument(query_span("SELECT", "categories"))
        .await
}
