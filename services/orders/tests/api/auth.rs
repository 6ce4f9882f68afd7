//! Authentication failures, and object-level authorization: nobody sees another's orders.

use crate::helpers::{new_key, one_of, spawn_app};
use serde_json::Value;
use shop_auth::Role;
use uuid::Uuid;

#[tokio::test]
async fn every_order_route_refuses_bad_tokens() {
    let app = spawn_app().await;
    let products = app.products().await;
    let sub = Uuid::new_v4();
    // Every forgery the test issuer can make: each differs from a token the service
    // accepts in one respect only.
    let bad_tokens = app.issuer.forgeries(sub, Role::Customer);
    let body = one_of(&products[0]["id"], 1);
    for (what, token) in &bad_tokens {
        let placed = app.place(token, &new_key(), &body).await;
        assert_eq!(placed.status(), 401, "place with {what}");
        let problem: Value = placed.json().await.unwrap();
        assert_eq!(problem["type"], "/problems/unauthorized", "{what}");
        assert_eq!(
            app.get_as(token, "/v1/orders").await.status(),
            401,
            "list with {what}"
        );
    }
    let anonymous = app
        .service
        .http
        .get(app.service.url("/v1/orders"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert!(anonymous.headers().contains_key("www-authenticate"));
}

#[tokio::test]
async fn user_b_cannot_read_list_or_cancel_user_a_orders() {
    let app = spawn_app().await;
    let (alice, bob) = (app.customer(), app.customer());
    let products = app.products().await;
    let order: Value = app
        .place(&alice.token, &new_key(), &one_of(&products[0]["id"], 1))
        .await
        .json()
        .await
        .unwrap();
    let id = order["id"].as_str().unwrap();

    let read = app.get_as(&bob.token, &format!("/v1/orders/{id}")).await;
    assert_eq!(
        read.status(),
        404,
        "not 403: bob must not learn the order exists"
    );
    let listed: Value = app
        .get_as(&bob.token, "/v1/orders")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["total"], 0);
    assert_eq!(app.cancel(&bob.token, id).await.status(), 404);

    // Alice's order is untouched, and an admin may read it.
    assert_ne!(app.settled(&alice.token, id).await["status"], "cancelled");
    let admin = app
        .get_as(&app.admin_token(), &format!("/v1/orders/{id}"))
        .await;
    assert_eq!(admin.status(), 200);
}

#[tokio::test]
async fn a_malformed_order_id_is_a_validation_problem() {
    let app = spawn_app().await;
    let alice = app.customer();
    let response = app.get_as(&alice.token, "/v1/orders/not-a-uuid").await;
    assert_eq!(response.status(), 422);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "id");
}

#[tokio::test]
async fn sql_in_any_parameter_is_only_ever_data() {
    let app = spawn_app().await;
    let products = app.products().await;
    let customer = app.customer();
    let body = one_of(&products[0]["id"], 1);
    let injections = ["' OR '1'='1", "'; DROP TABLE orders.orders; --", "1 OR 1=1"];
    for injection in injections {
        // An idempotency key is any printable text: stored and compared as data.
        let placed = app.place(&customer.token, injection, &body).await;
        assert!(
            matches!(placed.status().as_u16(), 202 | 400 | 422),
            "key {injection}: {}",
            placed.status()
        );
        let encoded: String = form_urlencoded::byte_serialize(injection.as_bytes()).collect();
        for path in [
            format!("/v1/orders?page={encoded}"),
            format!("/v1/orders?per_page={encoded}"),
            format!("/v1/orders/{encoded}"),
        ] {
            let status = app.get_as(&customer.token, &path).await.status().as_u16();
            assert!(matches!(status, 400 | 404 | 422), "{path}: {status}");
        }
    }
    // The table is there, and holds this customer's orders only.
    let mine: Value = app
        .get_as(&customer.token, "/v1/orders")
        .await
        .json()
        .await
        .expect("a page");
    let other: Value = app
        .get_as(&app.customer().token, "/v1/orders")
        .await
        .json()
        .await
        .expect("a page");
    assert!(mine["total"].as_u64().expect("total") >= 1, "{mine}");
    assert_eq!(other["total"], 0, "{other}");
}
