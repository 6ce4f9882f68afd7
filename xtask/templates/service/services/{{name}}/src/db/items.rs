//! The `items` table: the customers' lists.

use crate::domain::{Item, Note};
use sqlx::PgConnection;
use uuid::Uuid;

/// Holds `user_id`'s list for the rest of the transaction: two saves of the same customer
/// at once take turns, so that neither can push the list past its size.
pub async fn lock_list(conn: &mut PgConnection, user_id: Uuid) -> Result<(), sqlx::Error> {
    // The lock function returns `void`, which has no Rust type: select something else.
    sqlx::query!(
        r#"SELECT true AS "locked!" FROM (SELECT pg_advisory_xact_lock(hashtextextended($1, 0))) AS held"#,
        user_id.to_string()
    )
    .fetch_one(conn)
    .await?;
    Ok(())
}

/// How many products `user_id`'s list holds.
pub async fn count_items(conn: &mut PgConnection, user_id: Uuid) -> Result<usize, sqlx::Error> {
    let count = sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM {{name}}.items WHERE user_id = $1"#,
        user_id
    )
    .fetch_one(conn)
    .await?;
    usize::try_from(count).map_err(|error| sqlx::Error::Decode(Box::new(error)))
}

/// Puts `product_id` on `user_id`'s list with `note`, or changes the note of one already
/// there (which keeps its `added_at`). Returns the item and whether it is new.
pub async fn save_item(
    conn: &mut PgConnection,
    user_id: Uuid,
    product_id: Uuid,
    note: &Note,
) -> Result<(Item, bool), sqlx::Error> {
    let row = sqlx::query!(
        r#"
        INSERT INTO {{name}}.items (user_id, product_id, note)
        VALUES ($1, $2, $3)
        ON CONFLICT (user_id, product_id) DO UPDATE SET note = EXCLUDED.note
        RETURNING product_id, note, added_at, (xmax = 0) AS "inserted!"
        "#,
        user_id,
        product_id,
        note.as_str()
    )
    .fetch_one(conn)
    .await?;
    let item = Item {
        product_id: row.product_id,
        note: row.note,
        added_at: row.added_at,
    };
    Ok((item, row.inserted))
}

/// `user_id`'s list, most recently added first.
pub async fn list_items(conn: &mut PgConnection, user_id: Uuid) -> Result<Vec<Item>, sqlx::Error> {
    sqlx::query_as!(
        Item,
        r#"
        SELECT product_id, note, added_at FROM {{name}}.items
        WHERE user_id = $1
        ORDER BY added_at DESC, product_id
        "#,
        user_id
    )
    .fetch_all(conn)
    .await
}

/// Takes `product_id` off `user_id`'s list; false when it was not there.
pub async fn delete_item(
    conn: &mut PgConnection,
    user_id: Uuid,
    product_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query!(
        "DELETE FROM {{name}}.items WHERE user_id = $1 AND product_id = $2",
        user_id,
        product_id
    )
    .execute(conn)
    .await?;
    Ok(deleted.rows_affected() > 0)
}

/// Takes `product_id` off every list; returns from how many.
pub async fn delete_product(conn: &mut PgConnection, product_id: Uuid) -> Result<u64, sqlx::Error> {
    let deleted = sqlx::query!(
        "DELETE FROM {{name}}.items WHERE product_id = $1",
        product_id
    )
    .execute(conn)
    .await?;
    Ok(deleted.rows_affected())
}
