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
            version: event_version(product.id, product.version)?,
        };
        outbox::enqueue(conn, &Envelope::new(SOURCE, upserted)).await?;
    }
    Ok(())
}

/// Announces that a product is gone (`ProductDeleted`) at `version`, in the caller's
/// transaction.
pub async fn announce_deleted(
    conn: &mut PgConnection,
    product_id: Uuid,
    version: i64,
) -> Result<(), Error> {
    let deleted = ProductDeleted {
        product_id,
        version: event_version(product_id, version)?,
    };
    outbox::enqueue(conn, &Envelope::new(SOURCE, deleted)).await?;
    Ok(())
}

/// The sequence starts at 1: a version below is a broken invariant, not a value to pass on.
fn event_version(product_id: Uuid, version: i64) -> Result<u64, Error> {
    u64::try_from(version).map_err(|_| {
        Error::Internal(format!(
            "product {product_id} has a negative version: {version}"
        ))
    })
}
