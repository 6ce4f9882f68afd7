//! The storefront asks the catalog for products with `If-None-Match`, and shows the
//! catalog's current product all the same.

use crate::helpers::{closed_url, spawn_storefront};
use shop_server::{Env, ServerConfig};
use shop_testing::{RunningService, TestDatabase};
use std::time::{Duration, Instant};

/// The storefront's count of product revalidations with this outcome.
async fn revalidations(storefront: &RunningService, outcome: &str) -> u64 {
    let text = storefront
        .get("/metrics")
        .await
        .text()
        .await
        .expect("metrics");
    let exposition = shop_testing::prometheus::parse(&text).expect("an exposition");
    exposition
        .named("storefront_catalog_revalidations_total")
        .filter(|sample| sample.labels.get("outcome").map(String::as_str) == Some(outcome))
        .map(|sample| sample.value as u64)
        .sum()
}

/// The seeded product the test looks at, and its name.
const SKU: &str = "KI-GRN-001";
const NAME: &str = "Burr Coffee Grinder";

#[tokio::test]
async fn product_pages_revalidate_with_the_catalog_and_show_its_changes() {
    let db = TestDatabase::create().await.expect("test database");
    let env = Env::from_pairs([
        ("DATABASE_URL", db.url_for(catalog::config::SCHEMA)),
        ("JWKS_URL", closed_url().await),
        ("KAFKA_BROKERS", shop_testing::kafka_brokers()),
    ]);
    let mut config = catalog::config::Config::from_env(&env).expect("config");
    config.server = ServerConfig::ephemeral();
    config.kafka.topic_prefix = shop_testing::unique_topic_prefix();
    let catalog = RunningService::spawn(catalog::app::build(config).await.expect("catalog starts"));
    let storefront = spawn_storefront(vec![
        ("CATALOG_URL", catalog.base_url()),
        ("RECOMMENDATIONS_URL", closed_url().await),
    ])
    .await;
    let id = catalog::db::seed::product_id(SKU);
    let path = format!("/products/{id}");

    let first = storefront.get(&path).await;
    assert_eq!(first.status(), 200);
    assert!(first.text().await.unwrap().contains(NAME));
    let unchanged_before = revalidations(&storefront, "not-modified").await;
    let again = storefront.get(&path).await.text().await.unwrap();
    assert!(again.contains(NAME), "the same product");
    assert!(
        revalidations(&storefront, "not-modified").await > unchanged_before,
        "the second view was a 304"
    );

    let pool = shop_db::pool(&shop_db::DbConfig::new(
        db.url_for(catalog::config::SCHEMA),
        catalog::config::SCHEMA,
    ))
    .expect("pool");
    sqlx::query("UPDATE catalog.products SET name = 'Renamed Grinder' WHERE id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .expect("renamed");
    let started = Instant::now();
    loop {
        let page = storefront.get(&path).await.text().await.unwrap();
        if page.contains("Renamed Grinder") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "the storefront still shows the old product"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(revalidations(&storefront, "modified").await >= 1);
}
