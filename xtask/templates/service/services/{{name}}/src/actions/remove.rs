//! A customer takes a product off their list.

use crate::db;
use crate::error::{{Name}}Error;
use sqlx::PgPool;
use uuid::Uuid;

/// Takes `product_id` off `user_id`'s list; `NotListed` when it was not there.
pub async fn remove(db: &PgPool, user_id: Uuid, product_id: Uuid) -> Result<(), {{Name}}Error> {
    let mut conn = db.acquire().await?;
    if db::delete_item(&mut conn, user_id, product_id).await? {
        Ok(())
    } else {
        Err({{Name}}Error::NotListed(product_id))
    }
}
