//! An admin's changes to the catalog, each announced to the services that copy it.

use crate::db::{self, categories};
use crate::domain::product::{Product, ProductDraft};
use crate::error::Error;
use crate::events;
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use uuid::Uuid;

/// Adds a product and announces it (`ProductUpserted`).
pub async fn create(pool: &PgPool, draft: &ProductDraft) -> Result<Product, Error> {
    draft.validate().map_err(Error::Invalid)?;
    let id = Uuid::now_v7();
    let mut tx = pool.begin().await?;
    let category_id = category_id(&mut tx, &draft.category_slug).await?;
    db::products::insert(&mut tx, id, category_id, draft)
        .await
        .map_err(|error| sku_taken(error, &draft.sku))?;
    announce_and_commit(tx, id).await
}

/// Replaces every field an admin sets and announces the result (`ProductUpserted`).
/// `unchanged` sees the product as it is, locked until the commit, and refuses the
/// replace if it is not the version the admin read (optimistic concurrency: stock reserved
/// meanwhile must not be overwritten).
pub async fn replace(
    pool: &PgPool,
    id: Uuid,
    draft: &ProductDraft,
    unchanged: impl FnOnce(&Product) -> Result<(), Error>,
) -> Result<Product, Error> {
    draft.validate().map_err(Error::Invalid)?;
    let mut tx = pool.begin().await?;
    let current = db::products::lock(&mut tx, id)
        .await?
        .ok_or(Error::ProductNotFound(id))?;
    unchanged(&current)?;
    let category_id = category_id(&mut tx, &draft.category_slug).await?;
    let updated = db::products::update(&mut tx, id, category_id, draft)
        .await
        .map_err(|error| sku_taken(error, &draft.sku))?;
    if !updated {
        return Err(Error::ProductNotFound(id));
    }
    announce_and_commit(tx, id).await
}

/// Removes a product and announces it (`ProductDeleted`, at a version above every one it
/// had). Orders keep what they recorded of it.
pub async fn delete(pool: &PgPool, id: Uuid) -> Result<(), Error> {
    let mut tx = pool.begin().await?;
    if !db::products::delete(&mut tx, id).await? {
        return Err(Error::ProductNotFound(id));
    }
    let version = db::products::next_version(&mut tx).await?;
    events::announce_deleted(&mut tx, id, version).await?;
    tx.commit().await?;
    Ok(())
}

/// Reads product `id` as stored now, announces it (`ProductUpserted`) and commits.
async fn announce_and_commit(
    mut tx: Transaction<'_, Postgres>,
    id: Uuid,
) -> Result<Product, Error> {
    let product = db::products::find(&mut *tx, id)
        .await?
        .ok_or(Error::ProductNotFound(id))?;
    events::announce_upserted(&mut tx, std::slice::from_ref(&product)).await?;
    tx.commit().await?;
    Ok(product)
}

async fn category_id(conn: &mut PgConnection, slug: &str) -> Result<Uuid, Error> {
    categories::id_by_slug(conn, slug)
        .await?
        .ok_or_else(|| Error::UnknownCategory(slug.to_owned()))
}

/// The unique sku is the database's to enforce; a violation is the admin's conflict.
fn sku_taken(error: sqlx::Error, sku: &str) -> Error {
    if db::violated_constraint(&error) == Some("products_sku_key") {
        Error::SkuTaken(sku.to_owned())
    } else {
        Error::Database(error)
    }
}
