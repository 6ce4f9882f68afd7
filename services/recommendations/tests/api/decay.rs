//! Popularity decays exponentially: an order counts half as much after each half-life.

use crate::helpers::{migrated_database, products, record_order_at};
use recommendations::db;
use recommendations::domain::{HalfLife, Limit, OrderLine};
use sqlx::PgPool;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

const T0: OffsetDateTime = datetime!(2026-11-01 12:00 UTC);
const HALF_LIFE: Duration = Duration::hours(72);

/// The popular tier, read at `now`, as (product, score) pairs.
async fn popular_at(pool: &PgPool, now: OffsetDateTime) -> Vec<(Uuid, f64)> {
    let limit = Limit::new(50).expect("a valid limit");
    db::popular(pool, now, HalfLife::DEFAULT, None, limit)
        .await
        .expect("the popular tier")
        .into_iter()
        .map(|item| (item.product_id, item.score))
        .collect()
}

fn assert_close(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() < 1e-9,
        "expected {expected}, got {actual}"
    );
}

#[tokio::test]
async fn a_score_halves_every_half_life() {
    let (_db, pool) = migrated_database().await;
    let product = products(1)[0];
    record_order_at(&pool, Uuid::new_v4(), &[product], T0).await;
    record_order_at(&pool, Uuid::new_v4(), &[product], T0).await;

    assert_close(popular_at(&pool, T0).await[0].1, 2.0);
    assert_close(popular_at(&pool, T0 + HALF_LIFE).await[0].1, 1.0);
    assert_close(popular_at(&pool, T0 + HALF_LIFE * 2).await[0].1, 0.5);
    assert_close(
        popular_at(&pool, T0 + HALF_LIFE / 2).await[0].1,
        2.0 * 0.5f64.sqrt(),
    );
    // Read before the last order, a score does not grow.
    assert_close(popular_at(&pool, T0 - HALF_LIFE).await[0].1, 2.0);
}

#[tokio::test]
async fn new_orders_add_to_the_decayed_score_in_any_order() {
    let (_db, pool) = migrated_database().await;
    let [in_order, late] = products(2)[..] else {
        unreachable!()
    };
    // The same two orders, one half-life apart; the second product hears of them in
    // reverse, as a redelivered or delayed event would tell it.
    record_order_at(&pool, Uuid::new_v4(), &[in_order], T0).await;
    record_order_at(&pool, Uuid::new_v4(), &[in_order], T0 + HALF_LIFE).await;
    record_order_at(&pool, Uuid::new_v4(), &[late], T0 + HALF_LIFE).await;
    record_order_at(&pool, Uuid::new_v4(), &[late], T0).await;

    let scores = popular_at(&pool, T0 + HALF_LIFE).await;
    assert_close(scores[0].1, 1.5);
    assert_close(scores[1].1, 1.5);
    let scores = popular_at(&pool, T0 + HALF_LIFE * 2).await;
    assert_close(scores[0].1, 0.75);
}

#[tokio::test]
async fn recent_orders_outrank_more_but_older_ones() {
    let (_db, pool) = migrated_database().await;
    let [old_favourite, newcomer] = products(2)[..] else {
        unreachable!()
    };
    for _ in 0..3 {
        record_order_at(&pool, Uuid::new_v4(), &[old_favourite], T0).await;
    }
    record_order_at(&pool, Uuid::new_v4(), &[newcomer], T0 + HALF_LIFE * 2).await;

    let at_once = popular_at(&pool, T0 + HALF_LIFE).await;
    assert_eq!(at_once[0].0, old_favourite, "{at_once:?}");
    let later = popular_at(&pool, T0 + HALF_LIFE * 2).await;
    assert_eq!(later[0].0, newcomer, "3 × 1/4 < 1: {later:?}");
    assert_close(later[1].1, 0.75);
}

#[tokio::test]
async fn the_half_life_is_configurable() {
    let (_db, pool) = migrated_database().await;
    let product = products(1)[0];
    let lines = [OrderLine {
        product_id: product,
        quantity: 5,
    }];
    let day = HalfLife::from_hours(24.0).unwrap();
    let mut conn = pool.acquire().await.unwrap();
    db::record_purchase(&mut conn, Uuid::new_v4(), &lines, T0, day)
        .await
        .unwrap();
    db::record_purchase(&mut conn, Uuid::new_v4(), &lines, T0 + Duration::DAY, day)
        .await
        .unwrap();
    let limit = Limit::new(1).unwrap();
    let popular = db::popular(&pool, T0 + Duration::DAY, day, None, limit)
        .await
        .unwrap();
    assert_close(popular[0].score, 1.5);
}
