//! Loading the demo catalog (`seed_data.rs`) at start-up, so that a demo is never empty.
//!
//! Idempotent: rows that exist (by id, sku or slug) are left alone, so running it on every
//! start adds (and announces) only what is missing and never overwrites an admin's edits. A
//! seeded product an admin deleted comes back on the next start: set `CATALOG_SEED=false`
//! where that matters.

use super::products;
use super::seed_data::{CATEGORIES, PRODUCTS};
use crate::error::Error;
use crate::events;
use shop_db::query_span;
use sqlx::PgPool;
use tracing::Instrument;
use uuid::{Uuid, uuid};

/// Seeded ids are UUID v5 of the sku (or slug): the same in every database, so links to
/// a demo product keep working across environments and restarts.
const PRODUCT_NAMESPACE: Uuid = uuid!("4d035741-3289-4fb3-b12b-ecda92797d5d");
const CATEGORY_NAMESPACE: Uuid = uuid!("7a156218-377f-4cf9-b06e-203455c20d98");

/// Every seeded product is priced in euros.
const CURRENCY: &str = "EUR";

pub fn product_id(sku: &str) -> Uuid {
    Uuid::new_v5(&PRODUCT_NAMESPACE, sku.as_bytes())
}

pub fn category_id(slug: &str) -> Uuid {
    Uuid::new_v5(&CATEGORY_NAMESPACE, slug.as_bytes())
}

/// How many rows a load inserted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seeded {
    pub categories: u64,
    pub products: u64,
}

/// Inserts the demo categories and products that are missing, and announces each product
/// it inserts (`ProductUpserted`), in one transaction.
pub async fn load(pool: &PgPool) -> Result<Seeded, Error> {
    let mut tx = pool.begin().await?;

    let ids: Vec<Uuid> = CATEGORIES.iter().map(|c| category_id(c.slug)).collect();
    let slugs: Vec<&str> = CATEGORIES.iter().map(|c| c.slug).collect();
    let names: Vec<&str> = CATEGORIES.iter().map(|c| c.name).collect();
    let categories = sqlx::query!(
        r#"
        INSERT INTO catalog.categories (id, slug, name)
        SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[])
        ON CONFLICT DO NOTHING
        "#,
        &ids,
        &slugs as &[&str],
        &names as &[&str],
    )
    .execute(&mut *tx)
    .instrument(query_span("INSERT", "categories"))
    .await?
    .rows_affected();

    let ids: Vec<Uuid> = PRODUCTS.iter().map(|p| product_id(p.sku)).collect();
    let skus: Vec<&str> = PRODUCTS.iter().map(|p| p.sku).collect();
    let names: Vec<&str> = PRODUCTS.iter().map(|p| p.name).collect();
    let descriptions: Vec<&str> = PRODUCTS.iter().map(|p| p.description).collect();
    let category_slugs: Vec<&str> = PRODUCTS.iter().map(|p| p.category).collect();
    let prices: Vec<i64> = PRODUCTS.iter().map(|p| p.price_minor).collect();
    let stocks: Vec<i32> = PRODUCTS.iter().map(|p| p.stock).collect();
    let image_urls: Vec<String> = PRODUCTS
        .iter()
        .map(|p| format!("/images/products/{}.svg", p.sku))
        .collect();
    let inserted = sqlx::query_scalar!(
        r#"
        INSERT INTO catalog.products
            (id, sku, name, description, category_id, price_amount_minor, currency, stock, image_url)
        SELECT seed.id, seed.sku, seed.name, seed.description, c.id, seed.price, $9, seed.stock,
               seed.image_url
        FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int8[],
                    $7::int4[], $8::text[])
             AS seed (id, sku, name, description, category_slug, price, stock, image_url)
        JOIN catalog.categories c ON c.slug = seed.category_slug
        ON CONFLICT DO NOTHING
        RETURNING id
        "#,
        &ids,
        &skus as &[&str],
        &names as &[&str],
        &descriptions as &[&str],
        &category_slugs as &[&str],
        &prices,
        &stocks,
        &image_urls,
        CURRENCY,
    )
    .fetch_all(&mut *tx)
    .instrument(query_span("INSERT", "products"))
    .await?;
    // Other services learn of the new products; those that existed were announced then.
    let products = products::find_many(&mut *tx, &inserted).await?;
    events::announce_upserted(&mut tx, &products).await?;

    tx.commit().await?;
    Ok(Seeded {
        categories,
        products: inserted.len() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::product::ProductDraft;
    use shop_api::Money;
    use std::collections::HashSet;

    #[test]
    fn ids_are_stable() {
        assert_eq!(product_id("CT-ESP-001"), product_id("CT-ESP-001"));
        assert_ne!(product_id("CT-ESP-001"), product_id("CT-FLT-002"));
        assert_eq!(product_id("CT-ESP-001").get_version_num(), 5);
    }

    #[test]
    fn the_seed_is_a_valid_catalog() {
        let slugs: HashSet<_> = CATEGORIES.iter().map(|c| c.slug).collect();
        assert_eq!(slugs.len(), CATEGORIES.len(), "category slugs are unique");
        let skus: HashSet<_> = PRODUCTS.iter().map(|p| p.sku).collect();
        assert_eq!(skus.len(), PRODUCTS.len(), "skus are unique");
        for seed in PRODUCTS {
            assert!(
                slugs.contains(seed.category),
                "{}: unknown category",
                seed.sku
            );
            assert!((5..=100).contains(&seed.stock), "{}: stock", seed.sku);
            let draft = ProductDraft {
                sku: seed.sku.to_owned(),
                name: seed.name.to_owned(),
                description: seed.description.to_owned(),
                category_slug: seed.category.to_owned(),
                price: Money::new(seed.price_minor, CURRENCY),
                stock: seed.stock,
                image_url: Some(format!("/images/products/{}.svg", seed.sku)),
            };
            assert_eq!(draft.validate(), Ok(()), "{}", seed.sku);
        }
    }
}
