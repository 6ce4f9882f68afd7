//! Orders' copy of catalog's products (names and prices) is monotonic: it takes a product
//! event only when its version is newer than the copy's, so an event that arrives late or
//! again never brings back an old price or a deleted product.

use crate::helpers::{TestApp, eventually, spawn_app};
use shop_events::Envelope;
use shop_events::event::{Money, ProductDeleted, ProductUpserted};
use sqlx::{Connection, PgConnection};
use std::time::Duration;
use uuid::Uuid;

const PATIENCE: Duration = Duration::from_secs(30);

/// Publishes `envelope` on this test's `catalog.events`, as catalog would (keyed by
/// product), and waits until orders has processed it.
async fn deliver(app: &TestApp, envelope: Envelope) {
    let topic = format!("{}catalog.events", app.topic_prefix);
    let payload = envelope.to_json().expect("json");
    shop_testing::publish(&app.brokers, &topic, &envelope.key(), &payload).await;
    let db = sqlx::PgPool::connect(&app.db.admin_url())
        .await
        .expect("a superuser pool");
    eventually(PATIENCE, "orders processed the event", || {
        let db = db.clone();
        async move {
            sqlx::query_scalar::<_, bool>(
                "SELECT EXISTS (SELECT 1 FROM orders.processed_events WHERE event_id = $1)",
            )
            .bind(envelope.id)
            .fetch_one(&db)
            .await
            .expect("processed events")
        }
    })
    .await;
}

async fn superuser(app: &TestApp) -> PgConnection {
    PgConnection::connect(&app.db.admin_url())
        .await
        .expect("a superuser session")
}

/// (name, unit price, deleted, version) of the copy.
async fn copy_of(app: &TestApp, product_id: Uuid) -> Option<(String, i64, bool, i64)> {
    sqlx::query_as(
        "SELECT name, unit_price_minor, deleted, version FROM orders.product_prices
         WHERE product_id = $1",
    )
    .bind(product_id)
    .fetch_optional(&mut superuser(app).await)
    .await
    .expect("the copy")
}

fn upserted(product_id: Uuid, name: &str, amount_minor: i64, version: u64) -> Envelope {
    Envelope::new(
        "catalog",
        ProductUpserted {
            product_id,
            sku: format!("SKU-{}", product_id.simple()),
            name: name.into(),
            category_slug: "kitchen".into(),
            price: Money {
                amount_minor,
                currency: "EUR".into(),
            },
            stock: 5,
            version,
        },
    )
}

fn deleted(product_id: Uuid, version: u64) -> Envelope {
    Envelope::new(
        "catalog",
        ProductDeleted {
            product_id,
            version,
        },
    )
}

#[tokio::test]
async fn a_late_or_repeated_product_event_never_brings_back_an_old_price_or_a_deleted_product() {
    let app = spawn_app().await;
    let product = Uuid::now_v7();

    deliver(&app, upserted(product, "Mug", 1200, 10)).await;
    assert_eq!(
        copy_of(&app, product).await,
        Some(("Mug".into(), 1200, false, 10))
    );

    // An older state, late: nothing changes.
    deliver(&app, upserted(product, "Mug (old)", 900, 9)).await;
    assert_eq!(
        copy_of(&app, product).await,
        Some(("Mug".into(), 1200, false, 10))
    );
    // The same state again: nothing changes either.
    deliver(&app, upserted(product, "Mug", 1200, 10)).await;
    // A newer one: taken.
    deliver(&app, upserted(product, "Mug", 1500, 11)).await;
    assert_eq!(
        copy_of(&app, product).await,
        Some(("Mug".into(), 1500, false, 11))
    );

    // Deleted, then an upsert from before the deletion arrives: it stays deleted.
    deliver(&app, deleted(product, 12)).await;
    deliver(&app, upserted(product, "Mug", 1500, 11)).await;
    assert_eq!(
        copy_of(&app, product).await,
        Some(("Mug".into(), 1500, true, 12))
    );

    // A deletion of a product the copy never had leaves a tombstone that an older upsert
    // cannot get past; only a newer one (the product created again) can.
    let unseen = Uuid::now_v7();
    deliver(&app, deleted(unseen, 7)).await;
    deliver(&app, upserted(unseen, "Lamp", 4000, 6)).await;
    assert!(matches!(copy_of(&app, unseen).await, Some((_, _, true, 7))));
    deliver(&app, upserted(unseen, "Lamp", 4000, 8)).await;
    assert_eq!(
        copy_of(&app, unseen).await,
        Some(("Lamp".into(), 4000, false, 8))
    );
}
