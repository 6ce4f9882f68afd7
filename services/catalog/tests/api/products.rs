use crate::helpers::{TestApp, invalid_fields, problem, product_body, spawn_app};
use catalog::db::seed::product_id;
use serde_json::Value;
use std::collections::{BTreeSet, HashSet};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

async fn list(app: &TestApp, query: &str) -> Value {
    let response = app.get(&format!("/v1/products?{query}")).await;
    assert_eq!(response.status(), 200, "{query}");
    response.json().await.expect("a page")
}

fn items(page: &Value) -> &Vec<Value> {
    page["items"].as_array().expect("items")
}

fn names(page: &Value) -> Vec<&str> {
    items(page)
        .iter()
        .map(|product| product["name"].as_str().expect("a name"))
        .collect()
}

fn keys(object: &Value) -> BTreeSet<&str> {
    object
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect()
}

#[tokio::test]
async fn a_product_has_the_shape_other_services_rely_on() {
    let app = spawn_app().await;
    let id = product_id("CT-ESP-001");

    let response = app.get(&format!("/v1/products/{id}")).await;

    assert_eq!(response.status(), 200);
    let product: Value = response.json().await.unwrap();
    assert_eq!(
        keys(&product),
        BTreeSet::from([
            "id",
            "sku",
            "name",
            "description",
            "category",
            "price",
            "stock",
            "image_url",
            "created_at",
            "updated_at"
        ])
    );
    assert_eq!(product["id"], id.to_string());
    assert_eq!(product["sku"], "CT-ESP-001");
    assert_eq!(product["name"], "Harbor Espresso Blend, 1 kg");
    assert_eq!(
        keys(&product["category"]),
        BTreeSet::from(["id", "slug", "name"])
    );
    assert_eq!(product["category"]["slug"], "coffee-tea");
    assert_eq!(
        product["price"],
        serde_json::json!({ "amount_minor": 2490, "currency": "EUR" })
    );
    assert_eq!(product["stock"], 60);
    assert_eq!(product["image_url"], "/images/products/CT-ESP-001.svg");
    for timestamp in ["created_at", "updated_at"] {
        let text = product[timestamp].as_str().unwrap();
        assert!(
            OffsetDateTime::parse(text, &Rfc3339).is_ok(),
            "{timestamp}: {text}"
        );
    }
}

#[tokio::test]
async fn a_missing_product_is_a_404_problem() {
    let app = spawn_app().await;

    let response = app.get(&format!("/v1/products/{}", Uuid::now_v7())).await;

    assert_eq!(problem(response, 404).await["type"], "/problems/not-found");
}

#[tokio::test]
async fn a_malformed_id_is_a_problem_naming_it() {
    let app = spawn_app().await;
    for id in ["not-a-uuid", "%FF", "123"] {
        let response = app.get(&format!("/v1/products/{id}")).await;
        assert_eq!(invalid_fields(response).await, ["id"], "{id}");
    }
}

#[tokio::test]
async fn lists_products_by_name() {
    let app = spawn_app().await;
    let in_database = sqlx::query_scalar!(r#"SELECT count(*) AS "count!" FROM catalog.products"#)
        .fetch_one(&app.pool)
        .await
        .unwrap();

    let page = list(&app, "per_page=20").await;

    assert_eq!(page["total"], in_database);
    assert_eq!(items(&page).len(), 20);
    assert!(names(&page).is_sorted(), "{:?}", names(&page));
}

#[tokio::test]
async fn pages_add_up_to_the_total() {
    let app = spawn_app().await;
    let mut seen = HashSet::new();
    let mut total = None;
    for number in 1.. {
        let page = list(&app, &format!("page={number}&per_page=25")).await;
        total.get_or_insert(page["total"].as_u64().unwrap());
        if items(&page).is_empty() {
            break;
        }
        for product in items(&page) {
            assert!(
                seen.insert(product["id"].as_str().unwrap().to_owned()),
                "repeated"
            );
        }
    }
    assert!(seen.len() >= 60);
    assert_eq!(Some(seen.len() as u64), total);
}

#[tokio::test]
async fn refuses_bad_parameters_by_name() {
    let app = spawn_app().await;
    let too_many_ids = vec![Uuid::now_v7().to_string(); 101].join(",");
    for (query, field) in [
        ("per_page=101".to_owned(), "per_page"),
        ("page=0".to_owned(), "page"),
        ("ids=nope".to_owned(), "ids"),
        (format!("ids={},x", Uuid::now_v7()), "ids"),
        (format!("ids={too_many_ids}"), "ids"),
        (format!("q={}", "a".repeat(201)), "q"),
        // int32, as the contract's format says: one more was once accepted.
        ("page=2147483648".to_owned(), "page"),
        // Only the hyphenated form the contract's pattern allows.
        (format!("ids={}", Uuid::now_v7().simple()), "ids"),
        // A NUL once reached Postgres, which refused it: a 500.
        ("category=%00coffee".to_owned(), "category"),
        ("q=cold%00brew".to_owned(), "q"),
    ] {
        let response = app.get(&format!("/v1/products?{query}")).await;
        assert_eq!(invalid_fields(response).await, [field], "{query}");
    }
}

#[tokio::test]
async fn a_search_for_coffee_finds_coffee_best_match_first() {
    let app = spawn_app().await;

    let page = list(&app, "q=coffee").await;

    let total = page["total"].as_u64().unwrap();
    assert!(total >= 5, "{page}");
    for product in items(&page) {
        let text = format!("{} {}", product["name"], product["description"]).to_lowercase();
        assert!(text.contains("coffee"), "{text}");
    }
    // A match in the name weighs more than one in the description.
    assert!(names(&page)[0].contains("Coffee"), "{:?}", names(&page));
    assert!(
        names(&page).contains(&"Smart Coffee Scale"),
        "other categories too"
    );
}

#[tokio::test]
async fn searches_descriptions_with_web_search_syntax() {
    let app = spawn_app().await;
    app.create_product(&product_body("OD-THM-100")).await;

    // "breakwater" is only in the new product's description; "watches" stems to "watch".
    for query in ["breakwater", "night+watches", "%22night+watch%22"] {
        let page = list(&app, &format!("q={query}")).await;
        assert_eq!(names(&page), ["Lighthouse Keeper's Thermos"], "{query}");
        assert_eq!(page["total"], 1);
    }
    let without_decaf = list(&app, "q=coffee+-decaf&per_page=100").await;
    let with_decaf = list(&app, "q=coffee&per_page=100").await;
    assert!(names(&with_decaf).contains(&"Swiss Water Decaf Coffee, 500 g"));
    assert!(!names(&without_decaf).contains(&"Swiss Water Decaf Coffee, 500 g"));
    assert_eq!(items(&without_decaf).len() + 1, items(&with_decaf).len());
}

#[tokio::test]
async fn a_search_without_a_match_is_an_empty_page() {
    let app = spawn_app().await;

    let page = list(&app, "q=zeppelin").await;

    assert_eq!((items(&page).len(), page["total"].as_u64()), (0, Some(0)));
}

#[tokio::test]
async fn filters_by_category() {
    let app = spawn_app().await;
    let books = sqlx::query_scalar!(
        r#"
        SELECT count(*) AS "count!"
        FROM catalog.products p JOIN catalog.categories c ON c.id = p.category_id
        WHERE c.slug = 'books'
        "#
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();

    let page = list(&app, "category=books&per_page=100").await;

    assert!(books >= 5);
    assert_eq!(page["total"], books);
    assert_eq!(items(&page).len() as i64, books);
    assert!(
        items(&page)
            .iter()
            .all(|p| p["category"]["slug"] == "books")
    );
    // Filters combine.
    let coffee_books = list(&app, "category=books&q=coffee").await;
    assert_eq!(names(&coffee_books), ["The World Atlas of Coffee"]);
}

#[tokio::test]
async fn an_unknown_category_is_an_empty_page() {
    let app = spawn_app().await;

    let page = list(&app, "category=spaceships").await;

    assert_eq!((items(&page).len(), page["total"].as_u64()), (0, Some(0)));
}

#[tokio::test]
async fn fetches_products_by_ids() {
    let app = spawn_app().await;
    let (espresso, tent) = (product_id("CT-ESP-001"), product_id("OD-TNT-001"));

    let page = list(&app, &format!("ids={tent},{espresso},{}", Uuid::now_v7())).await;

    assert_eq!(
        names(&page),
        ["Harbor Espresso Blend, 1 kg", "Two-Person Backpacking Tent"]
    );
    assert_eq!(page["total"], 2);
    let none = list(&app, "ids=").await;
    assert_eq!(none["total"], 0, "an empty list asks for nothing");
}

#[tokio::test]
async fn sql_in_any_parameter_is_only_ever_data() {
    let app = spawn_app().await;
    let everything = list(&app, "per_page=100").await;
    let total = everything["total"].as_u64().expect("total");
    let injections = [
        "' OR '1'='1",
        "'; DROP TABLE catalog.products; --",
        "\" OR 1=1 --",
        "kitchen' UNION SELECT id FROM catalog.categories --",
        "%' OR name LIKE '%",
    ];
    for injection in injections {
        let encoded: String = form_urlencoded::byte_serialize(injection.as_bytes()).collect();
        // A search for the text finds nothing it does not contain; no error, no extra rows.
        let found = list(&app, &format!("q={encoded}")).await;
        assert!(
            found["total"].as_u64().expect("total") < total,
            "{injection}: {found}"
        );
        // An unknown category is a 422 problem, like any other unknown slug.
        let response = app.get(&format!("/v1/products?category={encoded}")).await;
        assert!(
            matches!(response.status().as_u16(), 200 | 400 | 422),
            "{injection}: {}",
            response.status()
        );
        // Ids are parsed before anything reaches the database.
        let response = app.get(&format!("/v1/products/{encoded}")).await;
        assert!(
            matches!(response.status().as_u16(), 400 | 404 | 422),
            "{injection}: {}",
            response.status()
        );
    }
    // Nothing was dropped or changed.
    assert_eq!(list(&app, "per_page=100").await["total"], total);
}
