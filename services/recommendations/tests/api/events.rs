//! What the consumer learns from `orders.events` and `catalog.events`, produced here as
//! the orders and catalog services' relays would.

use crate::helpers::{eventually, migrated_database, products, spawn_app, spawn_app_with};
use recommendations::db;
use recommendations::domain::{HalfLife, Limit};
use recommendations::events::Signals;
use shop_events::event::{
    Item, Money, OrderCancelled, OrderConfirmed, OrderPlaced, PricedItem, ProductDeleted,
    ProductUpserted, UserRegistered,
};
use shop_events::{Envelope, Handler};
use shop_testing::PrivateBroker;
use time::OffsetDateTime;
use uuid::Uuid;

#[tokio::test]
async fn confirmed_orders_personalize_and_pair_products() {
    let app = spawn_app().await;
    let [owned, first, second] = products(3)[..] else {
        unreachable!()
    };
    let user = Uuid::new_v4();
    app.publish(&order_confirmed(user, &[owned])).await;
    app.publish(&order_confirmed(Uuid::new_v4(), &[owned, first]))
        .await;
    app.publish(&order_confirmed(Uuid::new_v4(), &[owned, first, second]))
        .await;

    eventually("the three orders are learned", async || {
        app.recommend_for(user, "").await.scores() == [2.0, 1.0]
    })
    .await;
    let answer = app.recommend_for(user, "").await;
    assert_eq!(answer.source(), "personalized");
    assert_eq!(answer.products(), [first, second], "not what they own");

    let answer = app.recommend(&format!("product_id={owned}")).await;
    assert_eq!(answer.source(), "co-purchase");
    assert_eq!(answer.products(), [first, second]);
    assert_eq!(answer.scores(), [2.0, 1.0], "orders bought together");
}

#[tokio::test]
async fn deleted_products_disappear_and_come_back_when_upserted_again() {
    let app = spawn_app().await;
    let [viewed, kept, deleted] = products(3)[..] else {
        unreachable!()
    };
    app.publish(&order_confirmed(Uuid::new_v4(), &[viewed, kept, deleted]))
        .await;
    app.publish(&product_upserted(kept)).await;
    let bought_with_viewed = format!("product_id={viewed}");
    eventually("the order is learned", async || {
        app.recommend(&bought_with_viewed).await.products() == [kept, deleted]
    })
    .await;

    app.publish(&product_deleted(deleted)).await;
    eventually("the deleted product disappears", async || {
        app.recommend(&bought_with_viewed).await.products() == [kept]
    })
    .await;
    let popular = app.recommend("").await;
    assert_eq!(popular.source(), "popular");
    assert_eq!(popular.products(), [viewed, kept], "from every tier");

    // The catalog may create a product again (the seed puts back a deleted demo product,
    // with the same id): its new version is above the deletion's.
    app.publish(&product_upserted_at(deleted, 3)).await;
    eventually("the product is back", async || {
        app.recommend(&bought_with_viewed).await.products() == [kept, deleted]
    })
    .await;
}

#[tokio::test]
async fn an_event_delivered_twice_counts_once() {
    let app = spawn_app().await;
    let [a, b] = products(2)[..] else {
        unreachable!()
    };
    let user = Uuid::new_v4();
    let order = order_confirmed(user, &[a, b]);
    let topic = format!(
        r#"topic="{}""#,
        app.kafka.topic(shop_events::topics::ORDERS)
    );

    // The same envelope twice: what a relay does when it crashes before marking it sent.
    app.publish(&order).await;
    app.publish(&order).await;
    eventually("the redelivery is recognised", async || {
        app.counter("events_duplicate_total", &topic).await == 1.0
    })
    .await;

    let history: Vec<(Uuid, i64)> = sqlx::query_as(
        "SELECT product_id, quantity FROM recommendations.user_purchases \
         WHERE user_id = $1 ORDER BY product_id",
    )
    .bind(user)
    .fetch_all(&app.pool)
    .await
    .expect("the history");
    assert_eq!(history, [(a, 1), (b, 1)]);
    let answer = app.recommend(&format!("product_id={a}")).await;
    assert_eq!(
        (answer.source(), answer.scores()),
        ("co-purchase", vec![1.0]),
        "one order bought them together"
    );
    let popular = app.recommend("").await;
    assert_eq!(popular.products(), [a, b]);
    for score in popular.scores() {
        assert!((0.99..=1.0).contains(&score), "one order each, not {score}");
    }
    let processed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM recommendations.processed_events WHERE event_id = $1",
    )
    .bind(order.id)
    .fetch_one(&app.pool)
    .await
    .expect("count");
    assert_eq!(processed, 1);
}

#[tokio::test]
async fn a_service_started_without_its_broker_catches_up_once_it_is_back() {
    let broker = PrivateBroker::start().await.expect("a broker of its own");
    broker.disconnect();
    let app = spawn_app_with(&[], &broker.brokers()).await;
    assert_eq!(app.recommend("").await.source(), "static");

    broker.reconnect();
    // The topics the service could not create: the other services create them too.
    shop_events::topics::ensure(&app.kafka)
        .await
        .expect("topics created");
    let bought = products(1)[0];
    app.publish(&order_confirmed(Uuid::new_v4(), &[bought]))
        .await;
    eventually("the order is learned", async || {
        app.recommend("").await.products() == [bought]
    })
    .await;
}

#[tokio::test]
async fn other_event_types_teach_nothing() {
    let (_db, pool) = migrated_database().await;
    let a = products(1)[0];
    let (order_id, user_id) = (Uuid::now_v7(), Uuid::new_v4());
    let items = vec![Item {
        product_id: a,
        quantity: 1,
    }];
    let ignored = [
        Envelope::new(
            "orders",
            OrderPlaced {
                order_id,
                user_id,
                items: vec![PricedItem {
                    product_id: a,
                    quantity: 1,
                    unit_price_minor: 1299,
                }],
                total: eur(1299),
            },
        ),
        Envelope::new(
            "orders",
            OrderCancelled {
                order_id,
                user_id,
                items,
                was_confirmed: true,
            },
        ),
        Envelope::new(
            "users",
            UserRegistered {
                user_id,
                email: "ada@example.com".into(),
                name: "Ada".into(),
            },
        ),
    ];
    let signals = Signals {
        popularity_half_life: HalfLife::DEFAULT,
    };
    let mut conn = pool.acquire().await.expect("a connection");
    for envelope in &ignored {
        signals.handle(&mut conn, envelope).await.expect("handled");
    }
    let popular = db::popular(
        &mut *conn,
        OffsetDateTime::now_utc(),
        HalfLife::DEFAULT,
        None,
        Limit::default(),
    )
    .await
    .expect("popular");
    assert!(popular.is_empty(), "{popular:?}");
    let personalized = db::personalized(&mut *conn, user_id, None, Limit::default());
    assert!(personalized.await.expect("personalized").is_empty());
}

/// An order of one of each product by `user_id`, confirmed now.
fn order_confirmed(user_id: Uuid, products: &[Uuid]) -> Envelope {
    let items = products
        .iter()
        .map(|&product_id| Item {
            product_id,
            quantity: 1,
        })
        .collect();
    Envelope::new(
        "orders",
        OrderConfirmed {
            order_id: Uuid::now_v7(),
            user_id,
            items,
        },
    )
}

fn product_upserted(product_id: Uuid) -> Envelope {
    product_upserted_at(product_id, 1)
}

fn product_upserted_at(product_id: Uuid, version: u64) -> Envelope {
    Envelope::new(
        "catalog",
        ProductUpserted {
            product_id,
            sku: format!("SKU-{}", product_id.simple()),
            name: "Harbor mug".into(),
            category_slug: "kitchen".into(),
            price: eur(1299),
            stock: 10,
            version,
        },
    )
}

fn product_deleted(product_id: Uuid) -> Envelope {
    Envelope::new(
        "catalog",
        ProductDeleted {
            product_id,
            version: 2,
        },
    )
}

fn eur(amount_minor: i64) -> Money {
    Money {
        amount_minor,
        currency: "EUR".into(),
    }
}
