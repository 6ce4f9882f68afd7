//! Without its database the service still answers: the static list. Without its broker
//! it answers from what it has learned.

use crate::helpers::{
    closed_address, products, record_order, spawn_app_with, spawn_app_with_static,
};
use uuid::Uuid;

#[tokio::test]
async fn the_static_list_answers_while_the_database_is_cut_off() {
    let listed = products(3);
    let app = spawn_app_with_static(&listed).await;
    let bought = products(1)[0];
    record_order(&app.pool, Uuid::new_v4(), &[bought]).await;
    assert_eq!(app.recommend("").await.source(), "popular");

    app.db_proxy.disable();
    let answer = app.recommend("").await;
    assert_eq!(answer.source(), "static");
    assert_eq!(answer.products(), listed);
    let viewing = listed[0];
    let answer = app
        .recommend(&format!("product_id={viewing}&limit=1"))
        .await;
    assert_eq!(
        answer.products(),
        [listed[1]],
        "still never itself, still limited"
    );

    // Personalization still checks who asks, then degrades like the rest.
    let user = Uuid::new_v4();
    assert_eq!(app.recommend_for(user, "").await.source(), "static");
    let anonymous = app.recommendations(&format!("user_id={user}"), None).await;
    assert_eq!(anonymous.status, 401);

    app.db_proxy.enable();
    assert_eq!(app.recommend("").await.source(), "popular", "healed");
}

#[tokio::test]
async fn every_answer_is_counted_by_source_and_version() {
    let app = spawn_app_with_static(&products(1)).await;
    app.recommend("").await;
    let metrics = app.service.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(r#"recommendations_served_total{source="static",version="v1"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn without_a_broker_at_start_up_it_starts_and_answers_degraded() {
    let listed = products(2);
    let app = spawn_app_with(&listed, &closed_address()).await;

    let answer = app.recommend("").await;
    assert_eq!(answer.source(), "static");
    assert_eq!(answer.products(), listed);
    let bought = products(1)[0];
    record_order(&app.pool, Uuid::new_v4(), &[bought]).await;
    let answer = app.recommend("").await;
    assert_eq!(
        answer.source(),
        "popular",
        "what it learned before still counts"
    );

    // Degraded, not unready: it answers, from what it has learned.
    let ready = app.service.get("/health/ready").await;
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.expect("a report");
    assert_eq!(body["status"], "degraded", "{body}");
    assert_ne!(
        body["checks"]["broker"], "ok",
        "the broker is named: {body}"
    );
    assert_eq!(body["checks"]["database"], "ok", "{body}");
}
