//! A customer puts a product on their list, or changes the note of one already there.

use crate::db;
use crate::domain::{self, Item, MAX_ITEMS, Note, SaveItem};
use crate::error::{{Name}}Error;
use sqlx::PgPool;
use uuid::Uuid;

/// What saving did.
#[derive(Debug)]
pub enum Saved {
    /// The product was not on the list before.
    Added(Item),
    /// The product was already there; its note is now the one given.
    Updated(Item),
}

/// Saves `product_id` on `user_id`'s list with the note of `request`. Refused when the
/// note breaks its rules, or when the product is new and the list is full.
pub async fn save(
    db: &PgPool,
    user_id: Uuid,
    product_id: Uuid,
    request: &SaveItem,
) -> Result<Saved, {{Name}}Error> {
    let note = Note::parse(&request.note).map_err(|field| {{Name}}Error::Invalid(vec![field]))?;
    let mut tx = db.begin().await?;
    // Counting and inserting in one transaction, with the list held: a full list stays full.
    db::lock_list(&mut tx, user_id).await?;
    let count = db::count_items(&mut tx, user_id).await?;
    let (item, added) = db::save_item(&mut tx, user_id, product_id, &note).await?;
    if added && !domain::has_room(count) {
        // Dropping `tx` rolls the insert back.
        return Err({{Name}}Error::ListFull { max: MAX_ITEMS });
    }
    tx.commit().await?;
    Ok(if added {
        Saved::Added(item)
    } else {
        Saved::Updated(item)
    })
}
