//! The demo catalog loaded at start-up.

use crate::helpers::spawn_app;
use catalog::db::seed;

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

    let seeded = seed::load(&app.pool).await.unwrap();

    assert_eq!((seeded.categories, seeded.products), (0, 0));
    assert_eq!(snapshot().await, before);
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
