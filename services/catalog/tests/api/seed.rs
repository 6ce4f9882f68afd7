//! The demo catalog loaded at start-up.

use crate::helpers::spawn_app;
use catalog::db::seed;
use shop_events::event::Event;
use std::collections::HashSet;
use uuid::Uuid;

#[tokio::test]
async fn the_demo_catalog_is_seeded() {
    let app = spawn_app().await;

    let counts = sqlx::query!(
        r#"
        SELECT count(*) AS "products!", count(DISTINCT category_id) AS "categories!"
        FROM catalog.products
        "#
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();

    assert!(counts.products >= 60, "{} products", counts.products);
    assert!(counts.categories >= 6, "{} categories", counts.categories);
}

#[tokio::test]
async fn seeding_again_changes_nothing() {
    let app = spawn_app().await;
    let snapshot = || async {
        sqlx::query_scalar!(
            r#"
            SELECT json_agg(row_to_json(p) ORDER BY p.id)::text AS "snapshot!"
            FROM (SELECT id, sku, name, description, category_id, price_amount_minor, currency,
                         stock, image_url, created_at, updated_at
                  FROM catalog.products) AS p
            "#
        )
        .fetch_one(&app.pool)
        .await
        .unwrap()
    };
    let before = snapshot().await;
    let announced = app.outbox().await.len();

    let seeded = seed::load(&app.pool).await.unwrap();

    assert_eq!((seeded.categories, seeded.products), (0, 0));
    assert_eq!(snapshot().await, before);
    assert_eq!(
        app.outbox().await.len(),
        announced,
        "nothing new to announce"
    );
}

#[tokio::test]
async fn seeding_keeps_an_admins_edits() {
    let app = spawn_app().await;
    let espresso = seed::product_id("CT-ESP-001");
    sqlx::query!(
        "UPDATE catalog.products SET price_amount_minor = 1999, stock = 7 WHERE id = $1",
        espresso
    )
    .execute(&app.pool)
    .await
    .unwrap();

    seed::load(&app.pool).await.unwrap();

    let row = sqlx::query!(
        "SELECT price_amount_minor, stock FROM catalog.products WHERE id = $1",
        espresso
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((row.price_amount_minor, row.stock), (1999, 7));
}

#[tokio::test]
async fn seeding_announces_each_product_it_inserts_once() {
    let app = spawn_app().await;
    let events = app.catalog_events();
    let seeded: HashSet<Uuid> = sqlx::query_scalar!("SELECT id FROM catalog.products")
        .fetch_all(&app.pool)
        .await
        .unwrap()
        .into_iter()
        .collect();

    let announced = events
        .wait_for(seeded.len(), "seeded products", |received| {
            matches!(received.event(), Event::ProductUpserted(_))
        })
        .await;

    let keys: HashSet<Uuid> = announced
        .iter()
        .map(|received| received.key.parse().unwrap())
        .collect();
    assert_eq!(keys, seeded, "one per product, keyed by its id");
    assert_eq!(announced.len(), seeded.len(), "none twice");
    let espresso = announced
        .iter()
        .find_map(|received| match received.event() {
            Event::ProductUpserted(e) if e.sku == "CT-ESP-001" => Some(e.clone()),
            _ => None,
        })
        .expect("the espresso beans");
    assert_eq!(espresso.product_id, seed::product_id("CT-ESP-001"));
    assert_eq!(espresso.category_slug, "coffee-tea");
    assert_eq!(espresso.price.currency, "EUR");

    // A second seed inserts nothing, so it announces nothing.
    let before = app.outbox().await.len();
    seed::load(&app.pool).await.unwrap();
    assert_eq!(app.outbox().await.len(), before);
}
