//! What the event consumer calls, and what it records.

use crate::helpers::{migrated_database, products};
use recommendations::db;
use recommendations::domain::{HalfLife, Limit, OrderLine};
use sqlx::PgPool;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

const T0: OffsetDateTime = datetime!(2026-11-01 12:00 UTC);

fn lines(products: &[(Uuid, u32)]) -> Vec<OrderLine> {
    products
        .iter()
        .map(|&(product_id, quantity)| OrderLine {
            product_id,
            quantity,
        })
        .collect()
}

async fn history(pool: &PgPool, user_id: Uuid) -> Vec<(Uuid, i64)> {
    sqlx::query_as(
        "SELECT product_id, quantity FROM recommendations.user_purchases \
         WHERE user_id = $1 ORDER BY product_id",
    )
    .bind(user_id)
    .fetch_all(pool)
    .await
    .expect("the history")
}

fn ids(recommendations: Vec<recommendations::domain::Recommendation>) -> Vec<Uuid> {
    recommendations.into_iter().map(|r| r.product_id).collect()
}

#[tokio::test]
async fn a_purchase_records_history_pairs_and_popularity() {
    let (_db, pool) = migrated_database().await;
    let [a, b, c] = products(3)[..] else {
        unreachable!()
    };
    let user = Uuid::new_v4();
    let order = lines(&[(b, 1), (a, 2), (b, 3), (c, 0)]);
    let mut conn = pool.acquire().await.unwrap();
    db::record_purchase(&mut conn, user, &order, T0, HalfLife::DEFAULT)
        .await
        .unwrap();
    db::record_purchase(&mut conn, user, &lines(&[(a, 1)]), T0, HalfLife::DEFAULT)
        .await
        .unwrap();

    assert_eq!(
        history(&pool, user).await,
        [(a, 3), (b, 4)],
        "merged, summed"
    );
    let limit = Limit::default();
    assert_eq!(ids(db::co_purchased(&pool, a, limit).await.unwrap()), [b]);
    assert_eq!(ids(db::co_purchased(&pool, b, limit).await.unwrap()), [a]);
    assert!(db::co_purchased(&pool, c, limit).await.unwrap().is_empty());
    let popular = db::popular(&pool, T0, HalfLife::DEFAULT, None, limit)
        .await
        .unwrap();
    assert_eq!(ids(popular.clone()), [a, b], "one point per order");
    assert_eq!(popular[0].score, 2.0);
    assert_eq!(popular[1].score, 1.0);
}

#[tokio::test]
async fn a_purchase_in_a_rolled_back_transaction_leaves_nothing() {
    let (_db, pool) = migrated_database().await;
    let [a, b] = products(2)[..] else {
        unreachable!()
    };
    let user = Uuid::new_v4();
    let mut tx = pool.begin().await.unwrap();
    let order = lines(&[(a, 1), (b, 1)]);
    db::record_purchase(&mut tx, user, &order, T0, HalfLife::DEFAULT)
        .await
        .unwrap();
    tx.rollback().await.unwrap();

    assert!(history(&pool, user).await.is_empty());
    let popular = db::popular(&pool, T0, HalfLife::DEFAULT, None, Limit::default());
    assert!(popular.await.unwrap().is_empty());
}

/// Whether the static list may show `product`: known and not deleted.
async fn is_recommendable(pool: &PgPool, product: Uuid) -> bool {
    db::static_list(pool, &[product], None, Limit::default())
        .await
        .expect("the static list")
        == [product]
}

#[tokio::test]
async fn product_events_apply_in_the_order_they_happened() {
    let (_db, pool) = migrated_database().await;
    let product = products(1)[0];
    let visible = || is_recommendable(&pool, product);
    let hour = Duration::HOUR;

    db::upsert_product(&pool, product, 0, T0).await.unwrap();
    assert!(visible().await);
    db::mark_product_deleted(&pool, product, 0, T0 + hour)
        .await
        .unwrap();
    assert!(!visible().await);
    // A late upsert from before the deletion changes nothing…
    db::upsert_product(&pool, product, 0, T0).await.unwrap();
    assert!(!visible().await, "a stale upsert does not resurrect");
    // …nor one of the same instant: the deletion wins the tie…
    db::upsert_product(&pool, product, 0, T0 + hour)
        .await
        .unwrap();
    assert!(!visible().await, "a deletion wins a tie");
    // …but a later one brings the product back.
    db::upsert_product(&pool, product, 0, T0 + hour * 2)
        .await
        .unwrap();
    assert!(visible().await);
    // And a stale deletion is ignored.
    db::mark_product_deleted(&pool, product, 0, T0 + hour)
        .await
        .unwrap();
    assert!(visible().await);
}

/// Catalog's versions decide, whatever the event times say (another replica's clock, a
/// replay): a deletion outranks every upsert of an older version, and only a newer one
/// brings the product back.
#[tokio::test]
async fn product_versions_outrank_event_times() {
    let (_db, pool) = migrated_database().await;
    let product = products(1)[0];
    let visible = || is_recommendable(&pool, product);
    let hour = Duration::HOUR;

    db::upsert_product(&pool, product, 2, T0 + hour * 2)
        .await
        .unwrap();
    assert!(visible().await);
    // Deleted at version 3, stamped earlier than the upsert it follows.
    db::mark_product_deleted(&pool, product, 3, T0)
        .await
        .unwrap();
    assert!(!visible().await, "a newer version wins over a later time");
    // Version 2 again, replayed with a later time: still deleted.
    db::upsert_product(&pool, product, 2, T0 + hour * 5)
        .await
        .unwrap();
    assert!(!visible().await, "an old version never resurrects");
    // An event from before versions is older than every versioned one.
    db::upsert_product(&pool, product, 0, T0 + hour * 9)
        .await
        .unwrap();
    assert!(!visible().await, "version 0 is the oldest");
    db::upsert_product(&pool, product, 4, T0).await.unwrap();
    assert!(visible().await, "a newer version brings it back");
}
