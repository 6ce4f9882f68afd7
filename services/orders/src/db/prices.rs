//! The replica of catalog's prices that new orders are priced from.

use shop_api::Money;
use shop_db::query_span;
use sqlx::PgConnection;
use tracing::Instrument;
use uuid::Uuid;

/// A product as the replica knows it, for pricing.
pub struct ReplicatedProduct {
    pub product_id: Uuid,
    pub name: String,
    pub unit_price_minor: i64,
    pub currency: String,
}

impl From<ReplicatedProduct> for crate::domain::placing::CatalogProduct {
    fn from(product: ReplicatedProduct) -> Self {
        Self {
            id: product.product_id,
            name: product.name,
            price: Money::new(product.unit_price_minor, &product.currency),
        }
    }
}

/// The live (not deleted) products among `ids` that the replica knows.
pub async fn replicated_products(
    conn: &mut PgConnection,
    ids: &[Uuid],
) -> Result<Vec<ReplicatedProduct>, sqlx::Error> {
    sqlx::query_as!(
        ReplicatedProduct,
        r#"SELECT product_id, name, unit_price_minor, currency AS "currency!: String"
           FROM orders.product_prices WHERE product_id = ANY($1) AND NOT deleted"#,
        ids
    )
    .fetch_all(conn)
    .instrument(query_span("SELECT", "product_prices"))
    .await
}

/// Records a product's name and price at `version` (from `ProductUpserted`), unless the
/// replica already has that version or a newer one (a late or repeated event).
pub async fn upsert_product(
    conn: &mut PgConnection,
    product_id: Uuid,
    name: &str,
    price: &Money,
    version: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO orders.product_prices AS p
             (product_id, name, unit_price_minor, currency, version)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (product_id) DO UPDATE
         SET name = EXCLUDED.name, unit_price_minor = EXCLUDED.unit_price_minor,
             currency = EXCLUDED.currency, deleted = false, version = EXCLUDED.version,
             updated_at = now()
         WHERE p.version < EXCLUDED.version",
        product_id,
        name,
        price.amount_minor,
        price.currency,
        version
    )
    .execute(conn)
    .instrument(query_span("UPSERT", "product_prices"))
    .await?;
    Ok(())
}

/// Stops offering a product at `version` (from `ProductDeleted`); orders already placed
/// keep it. A product the replica never saw gets a tombstone (no name, no price, currency
/// `XXX`: never offered), so that an older upsert arriving after it changes nothing.
pub async fn mark_product_deleted(
    conn: &mut PgConnection,
    product_id: Uuid,
    version: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO orders.product_prices AS p
             (product_id, name, unit_price_minor, currency, deleted, version)
         VALUES ($1, '', 0, 'XXX', true, $2)
         ON CONFLICT (product_id) DO UPDATE
         SET deleted = true, version = EXCLUDED.version, updated_at = now()
         WHERE p.version < EXCLUDED.version",
        product_id,
        version
    )
    .execute(conn)
    .instrument(query_span("UPSERT", "product_prices"))
    .await?;
    Ok(())
}
