//! Reserving and releasing stock for orders (`/internal/v1/stock/reservations`).

use crate::helpers::{invalid_fields, problem, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};
use shop_auth::Role;
use uuid::Uuid;

#[tokio::test]
async fn reserves_every_line_of_an_order() {
    let app = spawn_app().await;
    let mug = app.product_with_stock("OD-MUG-100", 10).await;
    let lamp = app.product_with_stock("OD-LMP-100", 3).await;
    let order_id = Uuid::now_v7();

    let response = app
        .reserve(
            order_id,
            json!([
                { "product_id": mug, "quantity": 4 },
                { "product_id": lamp, "quantity": 3 },
            ]),
        )
        .await;

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({ "order_id": order_id, "status": "reserved" }));
    assert_eq!((app.stock_of(mug).await, app.stock_of(lamp).await), (6, 0));
}

#[tokio::test]
async fn reserving_the_same_order_again_takes_nothing_more() {
    let app = spawn_app().await;
    let mug = app.product_with_stock("OD-MUG-100", 10).await;
    let order_id = Uuid::now_v7();
    let items = json!([{ "product_id": mug, "quantity": 4 }]);

    let first = app.reserve(order_id, items.clone()).await;
    let second = app.reserve(order_id, items).await;

    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    assert_eq!(
        second.json::<Value>().await.unwrap(),
        json!({ "order_id": order_id, "status": "reserved" })
    );
    assert_eq!(app.stock_of(mug).await, 6);
}

#[tokio::test]
async fn a_short_line_reserves_nothing_and_names_the_product() {
    let app = spawn_app().await;
    let mug = app.product_with_stock("OD-MUG-100", 10).await;
    let lamp = app.product_with_stock("OD-LMP-100", 2).await;
    let order_id = Uuid::now_v7();
    let items = json!([
        { "product_id": mug, "quantity": 4 },
        { "product_id": lamp, "quantity": 3 },
    ]);

    let response = app.reserve(order_id, items.clone()).await;

    let body = problem(response, 409).await;
    assert_eq!(body["type"], "/problems/out-of-stock");
    assert_eq!(body["product_ids"], json!([lamp]));
    assert_eq!((app.stock_of(mug).await, app.stock_of(lamp).await), (10, 2));

    // The rejection is recorded: repeating the order gets it again, even after a restock.
    sqlx::query!("UPDATE catalog.products SET stock = 50 WHERE id = $1", lamp)
        .execute(&app.pool)
        .await
        .unwrap();
    let again = problem(app.reserve(order_id, items).await, 409).await;
    assert_eq!(again["product_ids"], json!([lamp]));
    assert_eq!(
        (app.stock_of(mug).await, app.stock_of(lamp).await),
        (10, 50)
    );
}

#[tokio::test]
async fn an_unknown_product_is_named_and_nothing_is_recorded() {
    let app = spawn_app().await;
    let mug = app.product_with_stock("OD-MUG-100", 10).await;
    let order_id = Uuid::now_v7();

    let response = app
        .reserve(
            order_id,
            json!([
                { "product_id": mug, "quantity": 1 },
                { "product_id": Uuid::now_v7(), "quantity": 1 },
            ]),
        )
        .await;

    assert_eq!(invalid_fields(response).await, ["items[1].product_id"]);
    assert_eq!(app.stock_of(mug).await, 10);
    // Nothing recorded: the order can still reserve once it asks for real products.
    let retry = app
        .reserve(order_id, json!([{ "product_id": mug, "quantity": 1 }]))
        .await;
    assert_eq!(retry.status(), 200);
    assert_eq!(app.stock_of(mug).await, 9);
}

#[tokio::test]
async fn invalid_lines_are_named() {
    let app = spawn_app().await;
    let mug = app.product_with_stock("OD-MUG-100", 10).await;
    let cases = [
        (json!([]), vec!["items"]),
        (
            json!([{ "product_id": mug, "quantity": 0 }]),
            vec!["items[0].quantity"],
        ),
        (
            json!([{ "product_id": mug, "quantity": -2 }]),
            vec!["items[0].quantity"],
        ),
        (
            json!([{ "product_id": mug, "quantity": 1 }, { "product_id": mug, "quantity": 1 }]),
            vec!["items[1].product_id"],
        ),
        (
            json!([{ "product_id": "mug", "quantity": 1 }]),
            vec!["items[0].product_id"],
        ),
        (json!([{ "product_id": mug }]), vec!["items[0].quantity"]),
        (
            json!([{ "product_id": mug, "quantity": 1, "price": 5 }]),
            vec!["items[0].price"],
        ),
    ];
    for (items, fields) in cases {
        let response = app.reserve(Uuid::now_v7(), items.clone()).await;
        assert_eq!(invalid_fields(response).await, fields, "{items}");
    }
    assert_eq!(app.stock_of(mug).await, 10);
}

#[tokio::test]
async fn releasing_returns_the_stock_once() {
    let app = spawn_app().await;
    let mug = app.product_with_stock("OD-MUG-100", 10).await;
    let order_id = Uuid::now_v7();
    let reserved = app
        .reserve(order_id, json!([{ "product_id": mug, "quantity": 4 }]))
        .await;
    assert_eq!(reserved.status(), 200);

    assert_eq!(app.release(order_id).await.status(), 204);
    assert_eq!(app.stock_of(mug).await, 10);
    assert_eq!(app.release(order_id).await.status(), 204);
    assert_eq!(app.stock_of(mug).await, 10, "released once");

    // A released order cannot take the stock again.
    let again = app
        .reserve(order_id, json!([{ "product_id": mug, "quantity": 4 }]))
        .await;
    assert_eq!(
        problem(again, 409).await["type"],
        "/problems/reservation-released"
    );
    assert_eq!(app.stock_of(mug).await, 10);
}

#[tokio::test]
async fn releasing_before_reserving_blocks_the_late_reservation() {
    let app = spawn_app().await;
    let mug = app.product_with_stock("OD-MUG-100", 10).await;
    let order_id = Uuid::now_v7();

    assert_eq!(app.release(order_id).await.status(), 204);
    let late = app
        .reserve(order_id, json!([{ "product_id": mug, "quantity": 4 }]))
        .await;

    assert_eq!(
        problem(late, 409).await["type"],
        "/problems/reservation-released"
    );
    assert_eq!(app.stock_of(mug).await, 10);
}

#[tokio::test]
async fn releasing_a_rejected_reservation_returns_nothing() {
    let app = spawn_app().await;
    let mug = app.product_with_stock("OD-MUG-100", 2).await;
    let order_id = Uuid::now_v7();
    let rejected = app
        .reserve(order_id, json!([{ "product_id": mug, "quantity": 3 }]))
        .await;
    assert_eq!(rejected.status(), 409);

    assert_eq!(app.release(order_id).await.status(), 204);

    assert_eq!(app.stock_of(mug).await, 2);
}

#[tokio::test]
async fn concurrent_orders_never_oversell() {
    let app = spawn_app().await;
    let mug = app.product_with_stock("OD-MUG-100", 5).await;

    let attempts = (0..20).map(|_| {
        app.reserve(
            Uuid::now_v7(),
            json!([{ "product_id": mug, "quantity": 1 }]),
        )
    });
    let statuses: Vec<u16> = futures::future::join_all(attempts)
        .await
        .iter()
        .map(|response| response.status().as_u16())
        .collect();

    assert_eq!(
        statuses.iter().filter(|&&s| s == 200).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 409).count(),
        15,
        "{statuses:?}"
    );
    assert_eq!(app.stock_of(mug).await, 0);
}

#[tokio::test]
async fn concurrent_orders_over_shared_products_do_not_deadlock() {
    let app = spawn_app().await;
    let mug = app.product_with_stock("OD-MUG-100", 100).await;
    let lamp = app.product_with_stock("OD-LMP-100", 100).await;

    // Half list the products one way round, half the other.
    let attempts = (0..20).map(|i| {
        let (first, second) = if i % 2 == 0 { (mug, lamp) } else { (lamp, mug) };
        app.reserve(
            Uuid::now_v7(),
            json!([
                { "product_id": first, "quantity": 1 },
                { "product_id": second, "quantity": 2 },
            ]),
        )
    });
    let responses = futures::future::join_all(attempts).await;

    assert!(responses.iter().all(|r| r.status() == 200));
    assert_eq!(app.stock_of(mug).await + app.stock_of(lamp).await, 200 - 60);
}

#[tokio::test]
async fn stock_can_never_be_negative() {
    let app = spawn_app().await;
    let mug = app.product_with_stock("OD-MUG-100", 1).await;

    let error = sqlx::query!("UPDATE catalog.products SET stock = -1 WHERE id = $1", mug)
        .execute(&app.pool)
        .await
        .expect_err("the CHECK constraint refuses it");

    let error = error.as_database_error().expect("a database error");
    assert_eq!(error.code().as_deref(), Some("23514"), "check_violation");
    assert_eq!(error.constraint(), Some("products_stock_check"));
    assert_eq!(app.stock_of(mug).await, 1);
}

#[tokio::test]
async fn reservations_need_a_valid_token() {
    let app = spawn_app().await;
    let mug = app.product_with_stock("OD-MUG-100", 10).await;
    let order_id = Uuid::now_v7();
    let body = json!({ "order_id": order_id, "items": [{ "product_id": mug, "quantity": 1 }] });
    let sub = Uuid::now_v7();
    let refused = [
        None,
        Some(app.issuer.expired_token(sub, Role::Customer)),
        Some(app.issuer.token_signed_by_another_key(sub, Role::Customer)),
        Some(app.issuer.token_with_alg_none(sub, Role::Customer)),
        Some(
            app.issuer
                .token_for_audience(sub, Role::Customer, "another-shop"),
        ),
    ];
    let release = format!("/internal/v1/stock/reservations/{order_id}");
    for token in &refused {
        let reserve = app
            .send(
                Method::POST,
                "/internal/v1/stock/reservations",
                token.as_deref(),
                Some(&body),
            )
            .await;
        assert_eq!(
            problem(reserve, 401).await["type"],
            "/problems/unauthorized"
        );
        let release = app
            .send(Method::DELETE, &release, token.as_deref(), None)
            .await;
        assert_eq!(
            problem(release, 401).await["type"],
            "/problems/unauthorized"
        );
    }
    assert_eq!(app.stock_of(mug).await, 10);
}
