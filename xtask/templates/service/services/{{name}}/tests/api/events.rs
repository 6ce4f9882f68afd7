//! What the consumer learns from `catalog.events`, produced here as catalog's relay would.

use crate::helpers::{eventually, send, spawn_app};
use serde_json::json;
use shop_events::Envelope;
use shop_events::event::{Money, ProductDeleted, ProductUpserted};
use std::time::Duration;
use uuid::Uuid;

#[tokio::test]
async fn a_deleted_product_leaves_every_list_and_a_redelivery_changes_nothing() {
    let app = spawn_app().await;
    // Published only once the consumer holds its partitions: nothing is read from before.
    app.service.wait_until_ready(Duration::from_secs(30)).await;
    let (_, alice) = app.customer();
    let (_, bob) = app.customer();
    let (deleted, kept) = (Uuid::new_v4(), Uuid::new_v4());
    for token in [&alice, &bob] {
        send(app.save(token, deleted, json!({})), 201).await;
        send(app.save(token, kept, json!({})), 201).await;
    }

    let event = Envelope::new("catalog", ProductDeleted { product_id: deleted, version: 2 });
    app.publish(&event).await;
    eventually("the deleted product leaves both lists", async || {
        app.listed(&alice).await == [kept] && app.listed(&bob).await == [kept]
    })
    .await;

    // The same event again (a redelivery), after the product was saved anew: it is
    // skipped as already processed, so the new save stays.
    send(app.save(&alice, deleted, json!({})), 201).await;
    app.publish(&event).await;
    // A later event of the same product (so of the same partition) proves that the
    // redelivery was read before it.
    let marker = upserted(deleted);
    app.publish(&marker).await;
    eventually("the later event is processed", async || {
        app.processed(marker.id).await
    })
    .await;
    assert_eq!(app.listed(&alice).await, [deleted, kept], "the redelivery changed nothing");
}

#[tokio::test]
async fn other_catalog_events_change_no_list() {
    let app = spawn_app().await;
    app.service.wait_until_ready(Duration::from_secs(30)).await;
    let (_, token) = app.customer();
    let product = Uuid::new_v4();
    send(app.save(&token, product, json!({})), 201).await;

    let event = upserted(product);
    app.publish(&event).await;
    eventually("the event is processed", async || {
        app.processed(event.id).await
    })
    .await;
    assert_eq!(app.listed(&token).await, [product]);
}

/// `ProductUpserted` for `product_id`, as catalog announces a new or changed product.
fn upserted(product_id: Uuid) -> Envelope {
    let product = ProductUpserted {
        product_id,
        sku: "SKU-1".to_owned(),
        name: "Boat hook".to_owned(),
        category_slug: "tools".to_owned(),
        price: Money {
            amount_minor: 1299,
            currency: "EUR".to_owned(),
        },
        stock: 3,
        version: 3,
    };
    Envelope::new("catalog", product)
}
