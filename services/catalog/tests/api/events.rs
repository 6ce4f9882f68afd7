//! What the catalog announces about its products on `catalog.events`.

use crate::helpers::{Received, product_body, spawn_app};
use reqwest::Method;
use serde_json::json;
use shop_events::event::{Event, Money, ProductDeleted, ProductUpserted};
use uuid::Uuid;

fn about(product_id: Uuid) -> impl Fn(&Received) -> bool {
    move |received| match received.event() {
        Event::ProductUpserted(e) => e.product_id == product_id,
        Event::ProductDeleted(e) => e.product_id == product_id,
        _ => false,
    }
}

#[tokio::test]
async fn creating_replacing_and_deleting_a_product_are_announced() {
    let app = spawn_app().await;
    let events = app.catalog_events();
    let token = app.admin_token();

    let created = app.create_product(&product_body("OD-THM-100")).await;
    let id: Uuid = created["id"].as_str().unwrap().parse().unwrap();
    let mut replacement = product_body("OD-THM-200");
    replacement["name"] = json!("Harbour Pilot's Thermos");
    replacement["category_slug"] = json!("kitchen");
    replacement["price"] = json!({ "amount_minor": 3490, "currency": "EUR" });
    replacement["stock"] = json!(7);
    let replaced = app
        .replace(&format!("/v1/products/{id}"), Some(&token), &replacement)
        .await;
    assert_eq!(replaced.status(), 200);
    let deleted = app
        .send(
            Method::DELETE,
            &format!("/v1/products/{id}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(deleted.status(), 204);

    let announced = events.wait_for(3, "announcements", about(id)).await;
    assert!(
        announced
            .iter()
            .all(|received| received.key == id.to_string()),
        "keyed by product: one partition, in order"
    );
    let announced: Vec<&Event> = announced.iter().map(Received::event).collect();
    let versions: Vec<u64> = announced
        .iter()
        .map(|event| match event {
            Event::ProductUpserted(upserted) => upserted.version,
            Event::ProductDeleted(deleted) => deleted.version,
            other => panic!("not about a product: {other:?}"),
        })
        .collect();
    assert!(
        versions[0] > 0 && versions.windows(2).all(|pair| pair[0] < pair[1]),
        "each change announces a newer version: {versions:?}"
    );
    assert_eq!(
        announced,
        [
            &Event::ProductUpserted(ProductUpserted {
                product_id: id,
                sku: "OD-THM-100".into(),
                name: "Lighthouse Keeper's Thermos".into(),
                category_slug: "outdoor".into(),
                price: Money {
                    amount_minor: 2990,
                    currency: "EUR".into()
                },
                stock: 12,
                version: versions[0],
            }),
            &Event::ProductUpserted(ProductUpserted {
                product_id: id,
                sku: "OD-THM-200".into(),
                name: "Harbour Pilot's Thermos".into(),
                category_slug: "kitchen".into(),
                price: Money {
                    amount_minor: 3490,
                    currency: "EUR".into()
                },
                stock: 7,
                version: versions[1],
            }),
            &Event::ProductDeleted(ProductDeleted {
                product_id: id,
                version: versions[2],
            }),
        ]
    );
}

#[tokio::test]
async fn a_refused_change_announces_nothing() {
    let app = spawn_app().await;
    let token = app.admin_token();
    let before = app.outbox().await.len();

    // A taken sku, an unknown product, an unknown category.
    let taken = app
        .send(
            Method::POST,
            "/v1/products",
            Some(&token),
            Some(&product_body("CT-ESP-001")),
        )
        .await;
    assert_eq!(taken.status(), 409);
    let missing = format!("/v1/products/{}", Uuid::now_v7());
    let body = product_body("OD-THM-100");
    let replaced = app.replace(&missing, Some(&token), &body).await;
    assert_eq!(replaced.status(), 404);
    let deleted = app.send(Method::DELETE, &missing, Some(&token), None).await;
    assert_eq!(deleted.status(), 404);
    let mut spaceship = product_body("OD-THM-100");
    spaceship["category_slug"] = json!("spaceships");
    let unknown = app
        .send(Method::POST, "/v1/products", Some(&token), Some(&spaceship))
        .await;
    assert_eq!(unknown.status(), 422);

    assert_eq!(app.outbox().await.len(), before);
}
