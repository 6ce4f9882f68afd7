//! Creating, replacing and deleting products: admins only.

use crate::helpers::{TestApp, invalid_fields, problem, product_body, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};
use shop_auth::Role;
use uuid::Uuid;

#[tokio::test]
async fn an_admin_creates_a_product() {
    let app = spawn_app().await;
    let token = app.admin_token();

    let response = app
        .send(
            Method::POST,
            "/v1/products",
            Some(&token),
            Some(&product_body("OD-THM-100")),
        )
        .await;

    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = response.json().await.unwrap();
    let id: Uuid = created["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(id.get_version_num(), 7, "new rows get sortable v7 ids");
    assert_eq!(location, format!("/v1/products/{id}"));
    assert_eq!(created["sku"], "OD-THM-100");
    assert_eq!(created["category"]["slug"], "outdoor");
    assert_eq!(created["category"]["name"], "Outdoor");
    assert_eq!(
        created["price"],
        json!({ "amount_minor": 2990, "currency": "EUR" })
    );
    assert_eq!(created["stock"], 12);
    assert_eq!(created["created_at"], created["updated_at"]);

    let fetched: Value = app.get(&location).await.json().await.unwrap();
    assert_eq!(fetched, created);
}

#[tokio::test]
async fn the_image_is_optional() {
    let app = spawn_app().await;
    let mut body = product_body("OD-THM-100");
    body.as_object_mut().unwrap().remove("image_url");

    let created = app.create_product(&body).await;

    assert_eq!(created["image_url"], Value::Null);
}

#[tokio::test]
async fn invalid_fields_are_named() {
    let app = spawn_app().await;
    let token = app.admin_token();
    let cases = [
        (json!({ "sku": "lower-case" }), vec!["sku"]),
        (json!({ "name": "" }), vec!["name"]),
        (json!({ "name": "x".repeat(201) }), vec!["name"]),
        (
            json!({ "price": { "amount_minor": -1, "currency": "EUR" } }),
            vec!["price.amount_minor"],
        ),
        (
            json!({ "price": { "amount_minor": 1, "currency": "euro" } }),
            vec!["price.currency"],
        ),
        (json!({ "stock": -1 }), vec!["stock"]),
        (json!({ "stock": "many" }), vec!["stock"]),
        (
            json!({ "image_url": "javascript:alert(1)" }),
            vec!["image_url"],
        ),
        (
            json!({ "category_slug": "spaceships" }),
            vec!["category_slug"],
        ),
        (json!({ "colour": "blue" }), vec!["colour"]),
        (json!({ "sku": "x", "stock": -5 }), vec!["sku", "stock"]),
    ];
    for (change, fields) in cases {
        let mut body = product_body("OD-THM-100");
        for (key, value) in change.as_object().unwrap() {
            body[key] = value.clone();
        }
        let response = app
            .send(Method::POST, "/v1/products", Some(&token), Some(&body))
            .await;
        assert_eq!(invalid_fields(response).await, fields, "{change}");
    }
    let mut missing = product_body("OD-THM-100");
    missing.as_object_mut().unwrap().remove("name");
    let response = app
        .send(Method::POST, "/v1/products", Some(&token), Some(&missing))
        .await;
    assert_eq!(invalid_fields(response).await, ["name"]);
}

#[tokio::test]
async fn a_taken_sku_is_a_conflict() {
    let app = spawn_app().await;
    let token = app.admin_token();

    // A seeded product's sku.
    let response = app
        .send(
            Method::POST,
            "/v1/products",
            Some(&token),
            Some(&product_body("CT-ESP-001")),
        )
        .await;

    let body = problem(response, 409).await;
    assert_eq!(body["type"], "/problems/sku-taken");
}

#[tokio::test]
async fn an_admin_replaces_a_product() {
    let app = spawn_app().await;
    let created = app.create_product(&product_body("OD-THM-100")).await;
    let path = format!("/v1/products/{}", created["id"].as_str().unwrap());
    let replacement = json!({
        "sku": "HM-THM-100",
        "name": "Harbour Thermos",
        "description": "Now for the kitchen.",
        "category_slug": "kitchen",
        "price": { "amount_minor": 3490, "currency": "EUR" },
        "stock": 3,
    });

    let response = app
        .replace(&path, Some(&app.admin_token()), &replacement)
        .await;

    assert_eq!(response.status(), 200);
    let replaced: Value = response.json().await.unwrap();
    assert_eq!(replaced["id"], created["id"]);
    assert_eq!(replaced["sku"], "HM-THM-100");
    assert_eq!(replaced["name"], "Harbour Thermos");
    assert_eq!(replaced["category"]["slug"], "kitchen");
    assert_eq!(replaced["price"]["amount_minor"], 3490);
    assert_eq!(replaced["stock"], 3);
    assert_eq!(
        replaced["image_url"],
        Value::Null,
        "a full replace clears what is left out"
    );
    assert_eq!(replaced["created_at"], created["created_at"]);
    assert_ne!(replaced["updated_at"], created["updated_at"]);
    let fetched: Value = app.get(&path).await.json().await.unwrap();
    assert_eq!(fetched, replaced);
}

#[tokio::test]
async fn replacing_checks_like_creating() {
    let app = spawn_app().await;
    let token = app.admin_token();
    let created = app.create_product(&product_body("OD-THM-100")).await;
    let path = format!("/v1/products/{}", created["id"].as_str().unwrap());

    let taken = app
        .replace(&path, Some(&token), &product_body("CT-ESP-001"))
        .await;
    assert_eq!(problem(taken, 409).await["type"], "/problems/sku-taken");

    let mut unknown_category = product_body("OD-THM-100");
    unknown_category["category_slug"] = json!("spaceships");
    let response = app.replace(&path, Some(&token), &unknown_category).await;
    assert_eq!(invalid_fields(response).await, ["category_slug"]);

    let missing = format!("/v1/products/{}", Uuid::now_v7());
    let response = app
        .replace(&missing, Some(&token), &product_body("OD-THM-100"))
        .await;
    assert_eq!(problem(response, 404).await["type"], "/problems/not-found");
}

#[tokio::test]
async fn a_replace_must_name_the_version_it_replaces() {
    let app = spawn_app().await;
    let token = app.admin_token();
    let created = app.create_product(&product_body("OD-THM-100")).await;
    let path = format!("/v1/products/{}", created["id"].as_str().unwrap());
    let mut body = product_body("OD-THM-100");
    body["stock"] = json!(1000);

    let response = app
        .send(Method::PUT, &path, Some(&token), Some(&body))
        .await;
    assert_eq!(
        problem(response, 428).await["type"],
        "/problems/version-required"
    );
    let unreadable = app
        .replace_if_match(&path, Some(&token), "not-a-tag", &body)
        .await;
    // A tag that cannot be read names no version the product has.
    assert_eq!(
        problem(unreadable, 412).await["type"],
        "/problems/edit-conflict"
    );
    let unchanged: Value = app.get(&path).await.json().await.unwrap();
    assert_eq!(unchanged["stock"], created["stock"], "nothing was written");
}

#[tokio::test]
async fn an_admin_deletes_a_product() {
    let app = spawn_app().await;
    let token = app.admin_token();
    let created = app.create_product(&product_body("OD-THM-100")).await;
    let path = format!("/v1/products/{}", created["id"].as_str().unwrap());

    let response = app.send(Method::DELETE, &path, Some(&token), None).await;
    assert_eq!(response.status(), 204);

    assert_eq!(app.get(&path).await.status(), 404);
    let again = app.send(Method::DELETE, &path, Some(&token), None).await;
    assert_eq!(problem(again, 404).await["type"], "/problems/not-found");
}

/// Every admin route, with a body that would succeed.
async fn admin_routes(app: &TestApp) -> Vec<(Method, String, Option<Value>)> {
    let existing = app.create_product(&product_body("OD-THM-100")).await;
    let path = format!("/v1/products/{}", existing["id"].as_str().expect("an id"));
    vec![
        (
            Method::POST,
            "/v1/products".to_owned(),
            Some(product_body("OD-THM-200")),
        ),
        (Method::PUT, path.clone(), Some(product_body("OD-THM-100"))),
        (Method::DELETE, path, None),
    ]
}

#[tokio::test]
async fn admin_routes_refuse_requests_without_a_valid_token() {
    let app = spawn_app().await;
    let sub = Uuid::now_v7();
    let issuer = &app.issuer;
    let refused: Vec<Option<String>> = std::iter::once(None)
        .chain(
            issuer
                .forgeries(sub, Role::Admin)
                .into_iter()
                .map(|(_, token)| Some(token)),
        )
        .collect();
    for (method, path, body) in admin_routes(&app).await {
        for token in &refused {
            let response = app
                .send(method.clone(), &path, token.as_deref(), body.as_ref())
                .await;
            let problem = problem(response, 401).await;
            assert_eq!(
                problem["type"], "/problems/unauthorized",
                "{method} {path} {token:?}"
            );
        }
    }
}

#[tokio::test]
async fn admin_routes_forbid_customers() {
    let app = spawn_app().await;
    let token = app.customer_token();
    for (method, path, body) in admin_routes(&app).await {
        let response = app
            .send(method.clone(), &path, Some(&token), body.as_ref())
            .await;
        let problem = problem(response, 403).await;
        assert_eq!(problem["type"], "/problems/forbidden", "{method} {path}");
    }
    // Nothing changed.
    let page: Value = app
        .get("/v1/products?q=thermos")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 1);
}
