//! Two versions of the ranking side by side on one database, as a canary runs them
//! (`k8s/overlays/canary`): v2 puts what is trending first, and every answer says which
//! version gave it.

use crate::helpers::{migrated_database, products, record_order_at, spawn_app};
use recommendations::db;
use recommendations::domain::{Limit, TrendingWindow};
use sqlx::PgPool;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

const VERSION: &str = "x-recommendations-version";

/// The trending tier read at `now` over `hours`, as (product, orders) pairs.
async fn trending_at(pool: &PgPool, now: OffsetDateTime, hours: u32) -> Vec<(Uuid, f64)> {
    let window = TrendingWindow::from_hours(hours).expect("a valid window");
    let limit = Limit::new(50).expect("a valid limit");
    db::trending(pool, now, window, None, limit)
        .await
        .expect("the trending tier")
        .into_iter()
        .map(|item| (item.product_id, item.score))
        .collect()
}

#[tokio::test]
async fn version_two_ranks_the_last_day_first_and_each_answer_names_its_version() {
    let app = spawn_app().await;
    let v2 = app
        .spawn_replica(&[("RECOMMENDATIONS_VERSION", "v2")])
        .await;
    let [classic, fad] = products(2)[..] else {
        unreachable!()
    };
    // Five orders three days ago (one half-life: 2.5 by now), two this hour.
    let three_days_ago = OffsetDateTime::now_utc() - Duration::days(3);
    for _ in 0..5 {
        record_order_at(&app.pool, Uuid::new_v4(), &[classic], three_days_ago).await;
    }
    for _ in 0..2 {
        record_order_at(&app.pool, Uuid::new_v4(), &[fad], OffsetDateTime::now_utc()).await;
    }

    let v1_answer = app.recommend("limit=5").await;
    assert_eq!(v1_answer.source(), "popular");
    assert_eq!(
        v1_answer.products(),
        [classic, fad],
        "v1: all orders, decayed"
    );
    assert_eq!(v1_answer.headers[VERSION], "v1");

    let response = v2
        .get("/v1/recommendations?limit=5")
        .await
        .error_for_status()
        .expect("v2 answers");
    assert_eq!(response.headers()[VERSION], "v2");
    let body: serde_json::Value = response.json().await.expect("JSON");
    assert_eq!(body["source"], "trending", "{body}");
    assert_eq!(body["items"][0]["product_id"], fad.to_string(), "{body}");
    assert_eq!(
        body["items"][0]["score"], 2.0,
        "orders in the window: {body}"
    );
    assert_eq!(body["items"].as_array().map(Vec::len), Some(1), "{body}");

    // Problems say which version refused them too.
    let refused = v2.get("/v1/recommendations?limit=0").await;
    assert_eq!(refused.status(), 422);
    assert_eq!(refused.headers()[VERSION], "v2");
    let refused = v2.get("/v1/recommendations?nonsense=1").await;
    assert_eq!(refused.status(), 422);
    assert_eq!(refused.headers()[VERSION], "v2");

    let metrics = v2.get("/metrics").await.text().await.expect("metrics");
    assert!(
        metrics.contains(r#"recommendations_served_total{source="trending",version="v2"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn version_two_answers_like_version_one_when_nothing_was_ordered_lately() {
    let app = spawn_app().await;
    let v2 = app
        .spawn_replica(&[("RECOMMENDATIONS_VERSION", "v2")])
        .await;
    let product = products(1)[0];
    let last_week = OffsetDateTime::now_utc() - Duration::days(6);
    record_order_at(&app.pool, Uuid::new_v4(), &[product], last_week).await;

    let body: serde_json::Value = v2
        .get("/v1/recommendations")
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(body["source"], "popular", "degrades to v1's tier: {body}");
    assert_eq!(body["items"][0]["product_id"], product.to_string());
}

#[tokio::test]
async fn the_trending_window_counts_whole_hours_up_to_now() {
    let (_db, pool) = migrated_database().await;
    let [inside, outside, future, gone] = products(4)[..] else {
        unreachable!()
    };
    let now = OffsetDateTime::now_utc();
    record_order_at(&pool, Uuid::new_v4(), &[inside], now - Duration::hours(23)).await;
    record_order_at(&pool, Uuid::new_v4(), &[inside], now).await;
    record_order_at(&pool, Uuid::new_v4(), &[outside], now - Duration::hours(25)).await;
    record_order_at(&pool, Uuid::new_v4(), &[future], now + Duration::hours(2)).await;
    record_order_at(&pool, Uuid::new_v4(), &[gone], now).await;
    db::mark_product_deleted(&pool, gone, 0, now)
        .await
        .expect("deleted");

    assert_eq!(trending_at(&pool, now, 24).await, [(inside, 2.0)]);
    assert_eq!(trending_at(&pool, now, 1).await, [(inside, 1.0)]);
    let wide = trending_at(&pool, now, 48).await;
    assert_eq!(wide, [(inside, 2.0), (outside, 1.0)], "sorted by orders");
}

#[tokio::test]
async fn buckets_older_than_a_week_are_deleted_as_new_orders_arrive() {
    let (_db, pool) = migrated_database().await;
    let product = products(1)[0];
    let now = OffsetDateTime::now_utc();
    record_order_at(&pool, Uuid::new_v4(), &[product], now - Duration::days(8)).await;
    let buckets = async || -> i64 {
        sqlx::query_scalar(
            "SELECT count(*) FROM recommendations.hourly_orders WHERE product_id = $1",
        )
        .bind(product)
        .fetch_one(&pool)
        .await
        .expect("counted")
    };
    assert_eq!(buckets().await, 1);
    record_order_at(&pool, Uuid::new_v4(), &[product], now).await;
    assert_eq!(
        buckets().await,
        1,
        "the eight-day-old bucket made way for this hour's"
    );
}
