//! Each tier answers in turn as the service learns more.

use crate::helpers::{products, record_order, spawn_app, spawn_app_with_static};
use recommendations::db;
use time::OffsetDateTime;
use uuid::Uuid;

#[tokio::test]
async fn with_nothing_learned_the_static_list_answers() {
    let listed = products(3);
    let app = spawn_app_with_static(&listed).await;

    let answer = app.recommend("").await;
    assert_eq!(answer.source(), "static");
    assert_eq!(answer.products(), listed);
    assert_eq!(answer.scores(), [0.0; 3]);

    let answer = app.recommend("limit=2").await;
    assert_eq!(answer.products(), listed[..2]);

    let viewing = listed[1];
    let answer = app.recommend(&format!("product_id={viewing}")).await;
    assert_eq!(answer.products(), [listed[0], listed[2]], "never itself");
}

#[tokio::test]
async fn without_a_static_list_the_answer_is_empty_not_an_error() {
    let app = spawn_app().await;
    let answer = app.recommend("").await;
    assert_eq!(answer.source(), "static");
    assert!(answer.products().is_empty());
}

#[tokio::test]
async fn popular_answers_once_orders_are_recorded() {
    let app = spawn_app_with_static(&products(1)).await;
    let [a, b, c] = products(3)[..] else {
        unreachable!()
    };
    record_order(&app.pool, Uuid::new_v4(), &[a, b]).await;
    record_order(&app.pool, Uuid::new_v4(), &[b]).await;
    record_order(&app.pool, Uuid::new_v4(), &[c, b, a]).await;

    let answer = app.recommend("").await;
    assert_eq!(answer.source(), "popular");
    assert_eq!(answer.products(), [b, a, c], "most orders first");
    // Fresh orders have hardly decayed.
    for (score, orders) in answer.scores().into_iter().zip([3.0, 2.0, 1.0]) {
        assert!((score - orders).abs() < 1e-3, "{score} for {orders} orders");
    }

    assert_eq!(app.recommend("limit=1").await.products(), [b]);
}

#[tokio::test]
async fn co_purchase_answers_for_a_product_bought_with_others() {
    let app = spawn_app().await;
    let [viewed, often, once, alone] = products(4)[..] else {
        unreachable!()
    };
    record_order(&app.pool, Uuid::new_v4(), &[viewed, often]).await;
    record_order(&app.pool, Uuid::new_v4(), &[often, viewed, once]).await;
    record_order(&app.pool, Uuid::new_v4(), &[alone]).await;
    record_order(&app.pool, Uuid::new_v4(), &[alone]).await;
    record_order(&app.pool, Uuid::new_v4(), &[alone]).await;

    let answer = app.recommend(&format!("product_id={viewed}")).await;
    assert_eq!(answer.source(), "co-purchase");
    assert_eq!(answer.products(), [often, once]);
    assert_eq!(answer.scores(), [2.0, 1.0], "orders bought together");

    // Pairs are counted both ways; ties go by id.
    let answer = app.recommend(&format!("product_id={once}")).await;
    assert_eq!(answer.products(), [viewed, often]);

    // Never bought with anything: the popular tier answers, without the product itself.
    let answer = app.recommend(&format!("product_id={alone}")).await;
    assert_eq!(answer.source(), "popular");
    assert_eq!(answer.products(), [viewed, often, once]);
}

#[tokio::test]
async fn personalized_answers_for_a_user_with_history() {
    let app = spawn_app().await;
    let [owned, first, second, unrelated] = products(4)[..] else {
        unreachable!()
    };
    let user = Uuid::new_v4();
    record_order(&app.pool, user, &[owned]).await;
    record_order(&app.pool, Uuid::new_v4(), &[owned, first]).await;
    record_order(&app.pool, Uuid::new_v4(), &[owned, first, second]).await;
    record_order(&app.pool, Uuid::new_v4(), &[unrelated]).await;

    let answer = app.recommend_for(user, "").await;
    assert_eq!(answer.source(), "personalized");
    assert_eq!(
        answer.products(),
        [first, second],
        "not what they already own"
    );
    assert_eq!(answer.scores(), [2.0, 1.0]);

    // The viewed product is left out here too.
    let answer = app
        .recommend_for(user, &format!("product_id={first}"))
        .await;
    assert_eq!(answer.source(), "personalized");
    assert_eq!(answer.products(), [second]);

    // Once they own everything bought with their products, the next tier answers.
    record_order(&app.pool, user, &[first, second]).await;
    let answer = app
        .recommend_for(user, &format!("product_id={unrelated}"))
        .await;
    assert_eq!(answer.source(), "popular");
    assert!(!answer.products().contains(&unrelated));

    // A user without history gets the next tier.
    let answer = app
        .recommend_for(Uuid::new_v4(), &format!("product_id={owned}"))
        .await;
    assert_eq!(answer.source(), "co-purchase");
    assert_eq!(answer.products(), [first, second]);
}

#[tokio::test]
async fn deleted_products_are_never_recommended() {
    let [kept, deleted, viewed, listed] = products(4)[..] else {
        unreachable!()
    };
    let app = spawn_app_with_static(&[deleted, listed]).await;
    let now = OffsetDateTime::now_utc();
    db::mark_product_deleted(&app.pool, deleted, 0, now)
        .await
        .unwrap();
    db::upsert_product(&app.pool, kept, 0, now).await.unwrap();

    let answer = app.recommend("").await;
    assert_eq!(answer.source(), "static");
    assert_eq!(answer.products(), [listed]);

    let user = Uuid::new_v4();
    record_order(&app.pool, Uuid::new_v4(), &[deleted, deleted, viewed]).await;
    record_order(&app.pool, Uuid::new_v4(), &[deleted, viewed, kept]).await;
    record_order(&app.pool, user, &[viewed]).await;

    let personalized = app.recommend_for(user, "").await;
    assert_eq!(personalized.source(), "personalized");
    assert_eq!(personalized.products(), [kept]);
    let co_purchase = app.recommend(&format!("product_id={viewed}")).await;
    assert_eq!(co_purchase.source(), "co-purchase");
    assert_eq!(co_purchase.products(), [kept]);
    let popular = app.recommend("").await;
    assert_eq!(popular.source(), "popular");
    assert_eq!(popular.products(), [viewed, kept]);
}
