//! Stock reservations: the catalog's side of the checkout saga.
//!
//! Both functions run on the caller's connection, so that the event consumer can decide and
//! announce its decision in one transaction. Each is atomic on its own all the same: it
//! works in a transaction of its own, which inside the caller's is a savepoint.
//!
//! - **All or nothing.** The products of a reservation are locked, checked, and only then
//!   decremented.
//! - **No deadlocks.** Every transaction locks products in id order, so two orders sharing
//!   products queue behind each other instead of waiting on each other.
//! - **Never negative.** The decrement is conditional (`stock >= quantity`) and the schema's
//!   `CHECK (stock >= 0)` stops anything that slips past.
//! - **Once per order.** The order's row in `stock_reservations` is written first: a repeated
//!   request waits for the first to finish, then finds the row and changes nothing. It
//!   gets the recorded decision, to answer again: orders repeats a request whose answer it
//!   has not heard (an event lost with a broker's data).

use crate::domain::stock::{Decision, Rejection, Release, Reservation, ReservationLine};
use shop_db::query_span;
use sqlx::{Connection, PgConnection};
use std::collections::HashMap;
use tracing::Instrument;
use uuid::Uuid;

/// Takes stock for every line of `order_id`, or for none (a rejection: some products are
/// short or unknown), and records which.
///
/// An order decided (or released) before changes nothing: the answer is what was recorded
/// then. `lines` must be valid (see `reservation_lines`).
pub async fn reserve(
    conn: &mut PgConnection,
    order_id: Uuid,
    lines: &[ReservationLine],
) -> Result<Reservation, sqlx::Error> {
    let mut tx = conn.begin().await?;
    // Claims the order. A concurrent request for the same order waits here until this
    // transaction ends, then inserts nothing.
    let claimed = sqlx::query!(
        r#"
        INSERT INTO catalog.stock_reservations (order_id, status)
        VALUES ($1, 'reserved')
        ON CONFLICT (order_id) DO NOTHING
        "#,
        order_id,
    )
    .execute(&mut *tx)
    .instrument(query_span("INSERT", "stock_reservations"))
    .await?;
    if claimed.rows_affected() == 0 {
        return recorded(&mut tx, order_id).await;
    }

    let available = lock_stock(&mut tx, lines).await?;
    let unknown_product_ids: Vec<Uuid> = lines
        .iter()
        .filter(|line| !available.contains_key(&line.product_id))
        .map(|line| line.product_id)
        .collect();
    let short_product_ids: Vec<Uuid> = lines
        .iter()
        .filter(|line| {
            available
                .get(&line.product_id)
                .is_some_and(|&stock| stock < line.quantity)
        })
        .map(|line| line.product_id)
        .collect();

    let (product_ids, quantities): (Vec<Uuid>, Vec<i32>) = lines
        .iter()
        .map(|line| (line.product_id, line.quantity))
        .unzip();
    let decision = if unknown_product_ids.is_empty() && short_product_ids.is_empty() {
        let taken = sqlx::query!(
            r#"
            UPDATE catalog.products p
            SET stock = p.stock - line.quantity, updated_at = now()
            FROM UNNEST($1::uuid[], $2::int4[]) AS line (product_id, quantity)
            WHERE p.id = line.product_id AND p.stock >= line.quantity
            "#,
            &product_ids,
            &quantities,
        )
        .execute(&mut *tx)
        .instrument(query_span("UPDATE", "products"))
        .await?;
        // The rows are locked and were checked: a mismatch is a bug, never a sale. The
        // database answered what it could not have: sqlx's name for that is `Protocol`.
        if taken.rows_affected() != lines.len() as u64 {
            return Err(sqlx::Error::Protocol(format!(
                "order {order_id}: {} of {} locked lines were decremented",
                taken.rows_affected(),
                lines.len()
            )));
        }
        Decision::Reserved
    } else {
        sqlx::query!(
            r#"
            UPDATE catalog.stock_reservations
            SET status = 'rejected', short_product_ids = $2, unknown_product_ids = $3,
                updated_at = now()
            WHERE order_id = $1
            "#,
            order_id,
            &short_product_ids,
            &unknown_product_ids,
        )
        .execute(&mut *tx)
        .instrument(query_span("UPDATE", "stock_reservations"))
        .await?;
        Decision::Rejected(Rejection {
            short_product_ids,
            unknown_product_ids,
        })
    };

    sqlx::query!(
        r#"
        INSERT INTO catalog.stock_reservation_lines (order_id, product_id, quantity)
        SELECT $1, line.product_id, line.quantity
        FROM UNNEST($2::uuid[], $3::int4[]) AS line (product_id, quantity)
        "#,
        order_id,
        &product_ids,
        &quantities,
    )
    .execute(&mut *tx)
    .instrument(query_span("INSERT", "stock_reservation_lines"))
    .await?;
    tx.commit().await?;
    Ok(Reservation::Decided(decision))
}

/// What was recorded for an order decided or released before.
async fn recorded(conn: &mut PgConnection, order_id: Uuid) -> Result<Reservation, sqlx::Error> {
    let row = sqlx::query!(
        r#"
        SELECT status, short_product_ids, unknown_product_ids
        FROM catalog.stock_reservations WHERE order_id = $1
        "#,
        order_id,
    )
    .fetch_one(conn)
    .instrument(query_span("SELECT", "stock_reservations"))
    .await?;
    match row.status.as_str() {
        "reserved" => Ok(Reservation::DecidedBefore(Decision::Reserved)),
        "rejected" => Ok(Reservation::DecidedBefore(Decision::Rejected(Rejection {
            short_product_ids: row.short_product_ids,
            unknown_product_ids: row.unknown_product_ids,
        }))),
        "released" => Ok(Reservation::Released),
        other => Err(sqlx::Error::Decode(
            format!("order {order_id}: unknown reservation status {other:?}").into(),
        )),
    }
}

/// Puts the stock held for `order_id` back, once: a second release returns nothing more.
///
/// Releasing an order that never reserved records it as released, so that a reservation
/// arriving late (a request overtaken by its own cancellation) cannot take stock any more.
pub async fn release(conn: &mut PgConnection, order_id: Uuid) -> Result<Release, sqlx::Error> {
    let mut tx = conn.begin().await?;
    let tombstone = sqlx::query!(
        r#"
        INSERT INTO catalog.stock_reservations (order_id, status)
        VALUES ($1, 'released')
        ON CONFLICT (order_id) DO NOTHING
        "#,
        order_id,
    )
    .execute(&mut *tx)
    .instrument(query_span("INSERT", "stock_reservations"))
    .await?;
    if tombstone.rows_affected() == 1 {
        tx.commit().await?;
        return Ok(Release::NothingHeld);
    }

    // Only a reserved reservation holds stock. A concurrent release waits on this row and
    // then finds it released.
    let released = sqlx::query!(
        r#"
        UPDATE catalog.stock_reservations
        SET status = 'released', updated_at = now()
        WHERE order_id = $1 AND status = 'reserved'
        "#,
        order_id,
    )
    .execute(&mut *tx)
    .instrument(query_span("UPDATE", "stock_reservations"))
    .await?;
    if released.rows_affected() == 0 {
        return Ok(Release::NothingHeld);
    }

    // Lock in id order, like `reserve`, before giving the stock back.
    sqlx::query!(
        r#"
        SELECT p.id
        FROM catalog.products p
        JOIN catalog.stock_reservation_lines line ON line.product_id = p.id
        WHERE line.order_id = $1
        ORDER BY p.id
        FOR UPDATE OF p
        "#,
        order_id,
    )
    .fetch_all(&mut *tx)
    .instrument(query_span("SELECT", "products"))
    .await?;
    // A product deleted meanwhile has no shelf to return to: its line is skipped.
    let product_ids = sqlx::query_scalar!(
        r#"
        UPDATE catalog.products p
        SET stock = p.stock + line.quantity, updated_at = now()
        FROM catalog.stock_reservation_lines line
        WHERE line.order_id = $1 AND line.product_id = p.id
        RETURNING p.id
        "#,
        order_id,
    )
    .fetch_all(&mut *tx)
    .instrument(query_span("UPDATE", "products"))
    .await?;
    tx.commit().await?;
    Ok(Release::Returned { product_ids })
}

/// Locks the products of `lines` in id order and returns their stock. Unknown products are
/// missing from the map.
async fn lock_stock(
    conn: &mut PgConnection,
    lines: &[ReservationLine],
) -> Result<HashMap<Uuid, i32>, sqlx::Error> {
    let ids: Vec<Uuid> = lines.iter().map(|line| line.product_id).collect();
    let rows = sqlx::query!(
        "SELECT id, stock FROM catalog.products WHERE id = ANY($1) ORDER BY id FOR UPDATE",
        &ids,
    )
    .fetch_all(conn)
    .instrument(query_span("SELECT", "products"))
    .await?;
    Ok(rows.into_iter().map(|row| (row.id, row.stock)).collect())
}
