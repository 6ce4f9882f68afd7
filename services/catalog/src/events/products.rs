//! What the catalog tells other services about its products: orders keeps their prices,
//! recommendations the set that exists.

use super::SOURCE;
use crate::domain::product::Product;
use crate::error::Error;
use shop_events::event::{ProductDeleted, ProductUpserted};
use shop_events::{Envelope, outbox};
use sqlx::PgConnection;
use uuid::Uuid;

/// Announces each product's current state (`ProductUpserted`), in the caller's transaction.
pub async fn announce_upserted(conn: &mut PgConnection, products: &[Product]) -> Result<(), Error> {
    for product in products {
        let stock = u32::try_from(product.stock).map_err(|_| {
            Error::Internal(format!(
                "product {} has a negative stock: {}",
                product.id, product.stock
            ))
        })?;
        let upserted = ProductUpserted {
            product_id: product.id,
            sku: product.sku.clone(),
            name: product.name.clone(),
            category_slug: product.category.slug.clone(),
            price: product.price.clone().into(),
            stock,
        };
        outbox::enqueue(conn, &Envelope::new(SOURCE, upserted)).await?;
    }
    Ok(())
}

/// Announces that a product is gone (`ProductDeleted`), in the caller's transaction.
pub async fn announce_deleted(conn: &mut PgConnection, product_id: Uuid) -> Result<(), Error> {
    outbox::enqueue(conn, &Envelope::new(SOURCE, ProductDeleted { product_id })).await?;
    Ok(())
}
