//! Writes: what the events of other services teach. The event consumer calls these, in
//! the transaction that also marks the event processed (so a redelivery is skipped).
//!
//! Events arrive at least once and not always in order. Product events carry their time
//! and an older one never overrides a newer one; a purchase is counted each time it is
//! recorded, which is why it must be recorded once per event.

use crate::domain::{Basket, HalfLife, OrderLine, TrendingWindow};
use shop_db::query_span;
use sqlx::{Connection, PgConnection, PgExecutor};
use time::OffsetDateTime;
use tracing::Instrument;
use uuid::Uuid;

/// Records a confirmed order of `user_id` made `at`: the user's history, every pair of
/// its products (both ways), each product's popularity and its orders that hour, all or
/// nothing (in a
/// transaction, or a savepoint when `conn` is already in one, as in the consumer).
pub async fn record_purchase(
    conn: &mut PgConnection,
    user_id: Uuid,
    lines: &[OrderLine],
    at: OffsetDateTime,
    half_life: HalfLife,
) -> Result<(), sqlx::Error> {
    let basket = Basket::new(lines);
    if basket.is_empty() {
        return Ok(());
    }
    let product_ids = basket.product_ids();
    let mut tx = conn.begin().await?;

    sqlx::query!(
        r#"
        INSERT INTO recommendations.user_purchases (user_id, product_id, quantity, last_purchased_at)
        SELECT $1, line.product_id, line.quantity, $4
        FROM UNNEST($2::uuid[], $3::bigint[]) AS line (product_id, quantity)
        ON CONFLICT (user_id, product_id) DO UPDATE
        SET quantity = user_purchases.quantity + EXCLUDED.quantity,
            last_purchased_at = GREATEST(user_purchases.last_purchased_at, EXCLUDED.last_purchased_at)
        "#,
        user_id,
        &product_ids,
        &basket.quantities(),
        at,
    )
    .execute(&mut *tx)
    .instrument(query_span("UPSERT", "user_purchases"))
    .await?;

    sqlx::query!(
        r#"
        INSERT INTO recommendations.co_purchases (product_id, other_product_id, times)
        SELECT one, other, 1
        FROM UNNEST($1::uuid[]) AS one CROSS JOIN UNNEST($1::uuid[]) AS other
        WHERE one <> other
        ORDER BY one, other
        ON CONFLICT (product_id, other_product_id) DO UPDATE
        SET times = co_purchases.times + 1
        "#,
        &product_ids,
    )
    .execute(&mut *tx)
    .instrument(query_span("UPSERT", "co_purchases"))
    .await?;

    // Both the stored score and this order's 1 are decayed to the later of their two
    // times, so an order recorded late adds what it would have added on time.
    sqlx::query!(
        r#"
        INSERT INTO recommendations.popularity AS p (product_id, score, updated_at)
        SELECT product_id, 1, $2 FROM UNNEST($1::uuid[]) AS product_id
        ON CONFLICT (product_id) DO UPDATE
        SET score = recommendations.decayed(p.score, p.updated_at, GREATEST(p.updated_at, EXCLUDED.updated_at), $3)
                  + recommendations.decayed(EXCLUDED.score, EXCLUDED.updated_at, GREATEST(p.updated_at, EXCLUDED.updated_at), $3),
            updated_at = GREATEST(p.updated_at, EXCLUDED.updated_at)
        "#,
        &product_ids,
        at,
        half_life.hours(),
    )
    .execute(&mut *tx)
    .instrument(query_span("UPSERT", "popularity"))
    .await?;

    sqlx::query!(
        r#"
        INSERT INTO recommendations.hourly_orders AS h (product_id, hour, orders)
        SELECT product_id, date_trunc('hour', $2::timestamptz, 'UTC'), 1
        FROM UNNEST($1::uuid[]) AS product_id
        ON CONFLICT (product_id, hour) DO UPDATE SET orders = h.orders + 1
        "#,
        &product_ids,
        at,
    )
    .execute(&mut *tx)
    .instrument(query_span("UPSERT", "hourly_orders"))
    .await?;

    // Older buckets than the longest window are of no use; deleting them for these products
    // only keeps the cost per order a few primary-key lookups.
    sqlx::query!(
        r#"
        DELETE FROM recommendations.hourly_orders
        WHERE product_id = ANY($1::uuid[]) AND hour < $2::timestamptz - make_interval(hours => $3)
        "#,
        &product_ids,
        at,
        i32::from(TrendingWindow::MAX_HOURS),
    )
    .execute(&mut *tx)
    .instrument(query_span("DELETE", "hourly_orders"))
    .await?;

    tx.commit().await
}

/// The catalog created or changed `product_id` (now at `version`, the event's time `at`):
/// it may be recommended (again). Only a newer version changes the row; between events
/// from before versions (0), the later one.
pub async fn upsert_product(
    db: impl PgExecutor<'_>,
    product_id: Uuid,
    version: i64,
    at: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"
        INSERT INTO recommendations.known_products AS k (product_id, deleted, version, updated_at)
        VALUES ($1, false, $2, $3)
        ON CONFLICT (product_id) DO UPDATE
        SET deleted = false, version = EXCLUDED.version, updated_at = EXCLUDED.updated_at
        WHERE (k.version, k.updated_at) < (EXCLUDED.version, EXCLUDED.updated_at)
        "#,
        product_id,
        version,
        at,
    )
    .execute(db)
    .instrument(query_span("UPSERT", "known_products"))
    .await?;
    Ok(())
}

/// The catalog deleted `product_id` (its deletion `version` is above every version the
/// product had): it is never recommended again, unless a newer upsert brings it back. A
/// deletion wins a tie.
pub async fn mark_product_deleted(
    db: impl PgExecutor<'_>,
    product_id: Uuid,
    version: i64,
    at: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"
        INSERT INTO recommendations.known_products AS k (product_id, deleted, version, updated_at)
        VALUES ($1, true, $2, $3)
        ON CONFLICT (product_id) DO UPDATE
        SET deleted = true, version = EXCLUDED.version, updated_at = EXCLUDED.updated_at
        WHERE (k.version, k.updated_at) <= (EXCLUDED.version, EXCLUDED.updated_at)
        "#,
        product_id,
        version,
        at,
    )
    .execute(db)
    .instrument(query_span("UPSERT", "known_products"))
    .await?;
    Ok(())
}
