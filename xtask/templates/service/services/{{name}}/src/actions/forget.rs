//! A product deleted from the catalog leaves every list.
//!
//! Runs in the event consumer's transaction, which also marks the event processed: a
//! redelivered event finds nothing left to delete.

use crate::db;
use sqlx::PgConnection;
use uuid::Uuid;

/// Takes `product_id` off every list.
pub async fn product_deleted(conn: &mut PgConnection, product_id: Uuid) -> Result<(), sqlx::Error> {
    let lists = db::delete_product(conn, product_id).await?;
    tracing::info!(%product_id, lists, "a deleted product left the lists");
    Ok(())
}
