//! Reads: each tier's recommendations, best first.
//!
//! Every query leaves out products known to be deleted and the product being looked at.

use crate::domain::{HalfLife, Limit, Recommendation, TrendingWindow};
use shop_db::query_span;
use sqlx::PgExecutor;
use time::OffsetDateTime;
use tracing::Instrument;
use uuid::Uuid;

/// What is most often bought together with what `user_id` bought, minus what they
/// already have. The score is the number of such shared orders.
pub async fn personalized(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    exclude: Option<Uuid>,
    limit: Limit,
) -> Result<Vec<Recommendation>, sqlx::Error> {
    sqlx::query_as!(
        Recommendation,
        r#"
        SELECT pair.other_product_id AS product_id, sum(pair.times)::float8 AS "score!"
        FROM recommendations.user_purchases AS bought
        JOIN recommendations.co_purchases AS pair ON pair.product_id = bought.product_id
        WHERE bought.user_id = $1
          AND pair.other_product_id IS DISTINCT FROM $2
          AND NOT EXISTS (
              SELECT 1 FROM recommendations.user_purchases AS owned
              WHERE owned.user_id = $1 AND owned.product_id = pair.other_product_id)
          AND NOT EXISTS (
              SELECT 1 FROM recommendations.known_products AS known
              WHERE known.product_id = pair.other_product_id AND known.deleted)
        GROUP BY pair.other_product_id
        ORDER BY 2 DESC, 1
        LIMIT $3
        "#,
        user_id,
        exclude,
        limit.as_i64(),
    )
    .fetch_all(db)
    .instrument(query_span("SELECT", "co_purchases"))
    .await
}

/// What is most often bought together with `product_id`. The score is the number of
/// orders containing both.
pub async fn co_purchased(
    db: impl PgExecutor<'_>,
    product_id: Uuid,
    limit: Limit,
) -> Result<Vec<Recommendation>, sqlx::Error> {
    sqlx::query_as!(
        Recommendation,
        r#"
        SELECT pair.other_product_id AS product_id, pair.times::float8 AS "score!"
        FROM recommendations.co_purchases AS pair
        WHERE pair.product_id = $1
          AND NOT EXISTS (
              SELECT 1 FROM recommendations.known_products AS known
              WHERE known.product_id = pair.other_product_id AND known.deleted)
        ORDER BY pair.times DESC, pair.other_product_id
        LIMIT $2
        "#,
        product_id,
        limit.as_i64(),
    )
    .fetch_all(db)
    .instrument(query_span("SELECT", "co_purchases"))
    .await
}

/// What was ordered most lately: the score is the count of orders, each decayed by its
/// age at `now`.
pub async fn popular(
    db: impl PgExecutor<'_>,
    now: OffsetDateTime,
    half_life: HalfLife,
    exclude: Option<Uuid>,
    limit: Limit,
) -> Result<Vec<Recommendation>, sqlx::Error> {
    sqlx::query_as!(
        Recommendation,
        r#"
        SELECT p.product_id, recommendations.decayed(p.score, p.updated_at, $1, $2) AS "score!"
        FROM recommendations.popularity AS p
        WHERE p.product_id IS DISTINCT FROM $3
          AND NOT EXISTS (
              SELECT 1 FROM recommendations.known_products AS known
              WHERE known.product_id = p.product_id AND known.deleted)
        ORDER BY 2 DESC, 1
        LIMIT $4
        "#,
        now,
        half_life.hours(),
        exclude,
        limit.as_i64(),
    )
    .fetch_all(db)
    .instrument(query_span("SELECT", "popularity"))
    .await
}

/// What was ordered most in the `window` of hours up to `now` (the current hour counts
/// as the window's last): the score is the number of orders.
pub async fn trending(
    db: impl PgExecutor<'_>,
    now: OffsetDateTime,
    window: TrendingWindow,
    exclude: Option<Uuid>,
    limit: Limit,
) -> Result<Vec<Recommendation>, sqlx::Error> {
    sqlx::query_as!(
        Recommendation,
        r#"
        SELECT h.product_id, sum(h.orders)::float8 AS "score!"
        FROM recommendations.hourly_orders AS h
        WHERE h.hour > date_trunc('hour', $1::timestamptz, 'UTC') - make_interval(hours => $2)
          AND h.hour <= $1::timestamptz
          AND h.product_id IS DISTINCT FROM $3
          AND NOT EXISTS (
              SELECT 1 FROM recommendations.known_products AS known
              WHERE known.product_id = h.product_id AND known.deleted)
        GROUP BY h.product_id
        ORDER BY 2 DESC, 1
        LIMIT $4
        "#,
        now,
        i32::from(window.hours()),
        exclude,
        limit.as_i64(),
    )
    .fetch_all(db)
    .instrument(query_span("SELECT", "hourly_orders"))
    .await
}

/// `product_ids` in their order, without the deleted ones and `exclude`.
pub async fn static_list(
    db: impl PgExecutor<'_>,
    product_ids: &[Uuid],
    exclude: Option<Uuid>,
    limit: Limit,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"
        SELECT listed.product_id AS "product_id!"
        FROM UNNEST($1::uuid[]) WITH ORDINALITY AS listed (product_id, position)
        WHERE listed.product_id IS DISTINCT FROM $2
          AND NOT EXISTS (
              SELECT 1 FROM recommendations.known_products AS known
              WHERE known.product_id = listed.product_id AND known.deleted)
        ORDER BY listed.position
        LIMIT $3
        "#,
        product_ids,
        exclude,
        limit.as_i64(),
    )
    .fetch_all(db)
    .instrument(query_span("SELECT", "known_products"))
    .await
}
