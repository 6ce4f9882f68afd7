//! An order's status and what orders knows of catalog's side of it: the queries of the
//! saga's actions and watchers.

use super::orders::parse_status;
use crate::domain::order::OrderStatus;
use shop_db::query_span;
use sqlx::PgConnection;
use tracing::Instrument;
use uuid::Uuid;

/// The order's status, locked until the end of the caller's transaction, so that a status
/// change decided on it cannot race another (a cancel against a confirmation).
pub async fn lock_status(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<OrderStatus>, sqlx::Error> {
    let status = sqlx::query_scalar!(
        "SELECT status FROM orders.orders WHERE id = $1 FOR UPDATE",
        id
    )
    .fetch_optional(conn)
    .instrument(query_span("SELECT", "orders"))
    .await?;
    status.map(|status| parse_status(id, &status)).transpose()
}

/// Up to `limit` orders pending for longer than `age`, oldest first, locked; rows another
/// transaction holds are skipped.
pub async fn lock_pending_older_than(
    conn: &mut PgConnection,
    age: std::time::Duration,
    limit: i64,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT id FROM orders.orders
         WHERE status = 'pending' AND created_at < now() - make_interval(secs => $1)
         ORDER BY created_at
         LIMIT $2
         FOR UPDATE SKIP LOCKED",
        age.as_secs_f64(),
        limit
    )
    .fetch_all(conn)
    .instrument(query_span("SELECT", "orders"))
    .await
}

/// Moves the order to `to`. Confirming records when; cancelling is a new request to
/// catalog, whose answer (`StockReleased`) is awaited from now (see `saga::reconcile`).
pub async fn set_status(
    conn: &mut PgConnection,
    id: Uuid,
    to: OrderStatus,
    reason: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE orders.orders
         SET status = $2, status_reason = $3, updated_at = now(),
             confirmed_at = CASE WHEN $2 = 'confirmed' THEN now() ELSE confirmed_at END,
             catalog_asked_at = CASE WHEN $2 = 'cancelled' THEN now() ELSE catalog_asked_at END,
             catalog_reminders = CASE WHEN $2 = 'cancelled' THEN 0 ELSE catalog_reminders END
         WHERE id = $1",
        id,
        to.as_str(),
        reason
    )
    .execute(conn)
    .instrument(query_span("UPDATE", "orders"))
    .await?;
    Ok(())
}

/// An order waiting for catalog's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Awaiting {
    pub id: Uuid,
    /// `Pending` (awaiting the stock decision) or `Cancelled` (awaiting the release).
    pub status: OrderStatus,
    /// Whether the order had been confirmed: a cancellation says so.
    pub was_confirmed: bool,
}

/// Up to `limit` orders waiting for catalog's answer for longer than `after`, doubled for
/// each time they were asked about again (up to 32 times), longest waiting first, locked;
/// rows another transaction holds are skipped.
pub async fn lock_awaiting_catalog(
    conn: &mut PgConnection,
    after: std::time::Duration,
    limit: i64,
) -> Result<Vec<Awaiting>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT id, status, confirmed_at IS NOT NULL AS "was_confirmed!"
           FROM orders.orders
           WHERE (status = 'pending' OR (status = 'cancelled' AND stock_released_at IS NULL))
             AND catalog_asked_at
                 < now() - make_interval(secs => $1 * power(2, least(catalog_reminders, 5)))
           ORDER BY catalog_asked_at
           LIMIT $2
           FOR UPDATE SKIP LOCKED"#,
        after.as_secs_f64(),
        limit
    )
    .fetch_all(conn)
    .instrument(query_span("SELECT", "orders"))
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(Awaiting {
                id: row.id,
                status: parse_status(row.id, &row.status)?,
                was_confirmed: row.was_confirmed,
            })
        })
        .collect()
}

/// Records that catalog was asked about the order again.
pub async fn record_asked_again(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE orders.orders
         SET catalog_asked_at = now(), catalog_reminders = catalog_reminders + 1
         WHERE id = $1",
        id
    )
    .execute(conn)
    .instrument(query_span("UPDATE", "orders"))
    .await?;
    Ok(())
}

/// Records catalog's word that a cancelled order holds no stock any more. False when there
/// was nothing to record: the order is not cancelled, or this was known.
pub async fn record_stock_released(conn: &mut PgConnection, id: Uuid) -> Result<bool, sqlx::Error> {
    let recorded = sqlx::query!(
        "UPDATE orders.orders SET stock_released_at = now()
         WHERE id = $1 AND status = 'cancelled' AND stock_released_at IS NULL",
        id
    )
    .execute(conn)
    .instrument(query_span("UPDATE", "orders"))
    .await?;
    Ok(recorded.rows_affected() == 1)
}
