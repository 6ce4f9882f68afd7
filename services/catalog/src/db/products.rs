//! Queries on `catalog.products`. The changes run in the caller's transaction: an action
//! (`crate::actions::products`) announces each in the same one.

use crate::domain::product::{Category, Product, ProductDraft};
use shop_api::{Money, PageQuery};
use shop_db::query_span;
use sqlx::{PgConnection, PgExecutor, PgPool};
use time::OffsetDateTime;
use tracing::Instrument;
use uuid::Uuid;

/// Which products to list. Every part is optional; together they narrow the list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Full-text search (web search syntax: `"cold brew" -decaf`), ranked by relevance.
    pub search: Option<String>,
    pub category_slug: Option<String>,
    pub ids: Option<Vec<Uuid>>,
}

/// A product joined with its category, as the queries return it.
struct ProductRow {
    id: Uuid,
    sku: String,
    name: String,
    description: String,
    category_id: Uuid,
    category_slug: String,
    category_name: String,
    price_amount_minor: i64,
    currency: String,
    stock: i32,
    image_url: Option<String>,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
    version: i64,
}

impl From<ProductRow> for Product {
    fn from(row: ProductRow) -> Self {
        Self {
            id: row.id,
            sku: row.sku,
            name: row.name,
            description: row.description,
            category: Category {
                id: row.category_id,
                slug: row.category_slug,
                name: row.category_name,
            },
            price: Money::new(row.price_amount_minor, &row.currency),
            stock: row.stock,
            image_url: row.image_url,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        }
    }
}

/// One page of the products matching `filter`, and how many match in all. With a search
/// the best matches come first; otherwise (and among equal matches) products go by name.
pub async fn list(
    pool: &PgPool,
    filter: &Filter,
    page: PageQuery,
) -> Result<(Vec<Product>, i64), sqlx::Error> {
    // Without a search the rank is NULL for every row, so the name alone decides the order.
    let rows = sqlx::query_as!(
        ProductRow,
        r#"
        SELECT p.id, p.sku, p.name, p.description,
               c.id AS category_id, c.slug AS category_slug, c.name AS category_name,
               p.price_amount_minor, p.currency, p.stock, p.image_url, p.created_at, p.updated_at,
               p.version
        FROM catalog.products p
        JOIN catalog.categories c ON c.id = p.category_id
        CROSS JOIN websearch_to_tsquery('english', $1::text) AS query
        WHERE ($1::text IS NULL OR p.search @@ query)
          AND ($2::text IS NULL OR c.slug = $2)
          AND ($3::uuid[] IS NULL OR p.id = ANY($3))
        ORDER BY ts_rank(p.search, query) DESC, p.name, p.id
        LIMIT $4 OFFSET $5
        "#,
        filter.search.as_deref(),
        filter.category_slug.as_deref(),
        filter.ids.as_deref(),
        page.limit(),
        page.offset(),
    )
    .fetch_all(pool)
    .instrument(query_span("SELECT", "products"))
    .await?;
    let total = sqlx::query_scalar!(
        r#"
        SELECT count(*) AS "total!"
        FROM catalog.products p
        JOIN catalog.categories c ON c.id = p.category_id
        WHERE ($1::text IS NULL OR p.search @@ websearch_to_tsquery('english', $1))
          AND ($2::text IS NULL OR c.slug = $2)
          AND ($3::uuid[] IS NULL OR p.id = ANY($3))
        "#,
        filter.search.as_deref(),
        filter.category_slug.as_deref(),
        filter.ids.as_deref(),
    )
    .fetch_one(pool)
    .instrument(query_span("SELECT", "products"))
    .await?;
    Ok((rows.into_iter().map(Product::from).collect(), total))
}

pub async fn find(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<Product>, sqlx::Error> {
    let row = sqlx::query_as!(
        ProductRow,
        r#"
        SELECT p.id, p.sku, p.name, p.description,
               c.id AS category_id, c.slug AS category_slug, c.name AS category_name,
               p.price_amount_minor, p.currency, p.stock, p.image_url, p.created_at, p.updated_at,
               p.version
        FROM catalog.products p
        JOIN catalog.categories c ON c.id = p.category_id
        WHERE p.id = $1
        "#,
        id,
    )
    .fetch_optional(db)
    .instrument(query_span("SELECT", "products"))
    .await?;
    Ok(row.map(Product::from))
}

/// The products with these ids that exist, by id.
pub async fn find_many(db: impl PgExecutor<'_>, ids: &[Uuid]) -> Result<Vec<Product>, sqlx::Error> {
    let rows = sqlx::query_as!(
        ProductRow,
        r#"
        SELECT p.id, p.sku, p.name, p.description,
               c.id AS category_id, c.slug AS category_slug, c.name AS category_name,
               p.price_amount_minor, p.currency, p.stock, p.image_url, p.created_at, p.updated_at,
               p.version
        FROM catalog.products p
        JOIN catalog.categories c ON c.id = p.category_id
        WHERE p.id = ANY($1)
        ORDER BY p.id
        "#,
        ids,
    )
    .fetch_all(db)
    .instrument(query_span("SELECT", "products"))
    .await?;
    Ok(rows.into_iter().map(Product::from).collect())
}

/// Inserts a product; `draft` must be valid. A taken sku violates `products_sku_key`.
pub async fn insert(
    conn: &mut PgConnection,
    id: Uuid,
    category_id: Uuid,
    draft: &ProductDraft,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"
        INSERT INTO catalog.products
            (id, sku, name, description, category_id, price_amount_minor, currency, stock, image_url)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
        "#,
        id,
        draft.sku,
        draft.name,
        draft.description,
        category_id,
        draft.price.amount_minor,
        draft.price.currency,
        draft.stock,
        draft.image_url,
    )
    .execute(conn)
    .instrument(query_span("INSERT", "products"))
    .await?;
    Ok(())
}

/// The product, locked until the end of the caller's transaction; `None` if there is none.
pub async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<Option<Product>, sqlx::Error> {
    let locked = sqlx::query_scalar!(
        "SELECT id FROM catalog.products WHERE id = $1 FOR UPDATE",
        id
    )
    .fetch_optional(&mut *conn)
    .instrument(query_span("SELECT", "products"))
    .await?;
    match locked {
        Some(_) => find(conn, id).await,
        None => Ok(None),
    }
}

/// Sets every field an admin sets; `draft` must be valid. False when there is no such
/// product. A taken sku violates `products_sku_key`.
pub async fn update(
    conn: &mut PgConnection,
    id: Uuid,
    category_id: Uuid,
    draft: &ProductDraft,
) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query!(
        r#"
        UPDATE catalog.products
        SET sku = $2, name = $3, description = $4, category_id = $5, price_amount_minor = $6,
            currency = $7, stock = $8, image_url = $9, updated_at = now()
        WHERE id = $1
        "#,
        id,
        draft.sku,
        draft.name,
        draft.description,
        category_id,
        draft.price.amount_minor,
        draft.price.currency,
        draft.stock,
        draft.image_url,
    )
    .execute(conn)
    .instrument(query_span("UPDATE", "products"))
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Deletes a product; false when there was none.
pub async fn delete(conn: &mut PgConnection, id: Uuid) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query!("DELETE FROM catalog.products WHERE id = $1", id)
        .execute(conn)
        .instrument(query_span("DELETE", "products"))
        .await?;
    Ok(deleted.rows_affected() == 1)
}

/// A version above every version a product had so far (for its deletion: take it after
/// the row lock the deletion holds).
pub async fn next_version(conn: &mut PgConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT nextval('catalog.product_versions') AS "version!""#)
        .fetch_one(conn)
        .instrument(query_span("SELECT", "product_versions"))
        .await
}
