//! Exercise tests, ignored until a team takes the exercise on: see
//! `docs/exercises/catalog-reviews.md`. They compile today and fail until solved;
//! `cargo nextest run -p catalog --run-ignored ignored-only -E 'test(exercise)'` runs them.

use crate::helpers::{eventually, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};
use shop_auth::Role;
use shop_events::event::{Item, OrderConfirmed};
use uuid::Uuid;

#[tokio::test]
#[ignore = "exercise: product reviews by those who bought the product (docs/exercises/catalog-reviews.md)"]
async fn exercise_only_a_buyer_reviews_a_product_once_and_its_rating_is_shown() {
    let app = spawn_app().await;
    let product = app.product_with_stock("EX-REVIEW-1", 5).await;
    let buyer = Uuid::now_v7();
    let token = app.issuer.token(buyer, Role::Customer);
    let reviews = format!("/v1/products/{product}/reviews");
    let review = json!({ "rating": 4, "comment": "Pulls a fine espresso." });

    let anonymous = app.send(Method::POST, &reviews, None, Some(&review)).await;
    assert_eq!(anonymous.status(), 401);
    let before_buying = app
        .send(Method::POST, &reviews, Some(&token), Some(&review))
        .await;
    assert_eq!(before_buying.status(), 403, "only a buyer reviews");

    // Catalog learns who bought what from orders' events, as it learns of orders today.
    app.publish(OrderConfirmed {
        order_id: Uuid::now_v7(),
        user_id: buyer,
        items: vec![Item {
            product_id: product,
            quantity: 1,
        }],
    })
    .await;
    eventually("the buyer may review", || async {
        app.send(Method::POST, &reviews, Some(&token), Some(&review))
            .await
            .status()
            == 201
    })
    .await;

    let twice = app
        .send(Method::POST, &reviews, Some(&token), Some(&review))
        .await;
    assert_eq!(twice.status(), 409, "one review per buyer and product");
    let out_of_range = app
        .send(
            Method::POST,
            &reviews,
            Some(&token),
            Some(&json!({ "rating": 6, "comment": "" })),
        )
        .await;
    assert_eq!(out_of_range.status(), 422);

    let listed: Value = app.get(&reviews).await.json().await.expect("reviews");
    assert_eq!(listed["total"], 1, "{listed}");
    assert_eq!(listed["items"][0]["rating"], 4);
    let shown: Value = app
        .get(&format!("/v1/products/{product}"))
        .await
        .json()
        .await
        .expect("product");
    assert_eq!(
        shown["rating"],
        json!({ "average": 4.0, "count": 1 }),
        "{shown}"
    );
}
