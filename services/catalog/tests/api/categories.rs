use crate::helpers::{invalid_fields, spawn_app};
use serde_json::Value;

#[tokio::test]
async fn lists_the_categories_by_name() {
    let app = spawn_app().await;

    let response = app.get("/v1/categories").await;

    assert_eq!(response.status(), 200);
    let page: Value = response.json().await.unwrap();
    let names: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|category| category["name"].as_str().unwrap())
        .collect();
    assert!(names.len() >= 6, "{page}");
    assert!(names.is_sorted(), "{names:?}");
    assert_eq!(page["total"], names.len());
    assert_eq!(
        (page["page"].as_u64(), page["per_page"].as_u64()),
        (Some(1), Some(20))
    );
    let coffee = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|category| category["slug"] == "coffee-tea")
        .expect("the coffee category");
    assert_eq!(coffee["name"], "Coffee & Tea");
    assert!(coffee["id"].as_str().unwrap().parse::<uuid::Uuid>().is_ok());
}

#[tokio::test]
async fn pages_through_the_categories() {
    let app = spawn_app().await;

    let page: Value = app
        .get("/v1/categories?page=2&per_page=4")
        .await
        .json()
        .await
        .unwrap();

    let total = page["total"].as_u64().unwrap();
    assert!(total >= 6);
    assert_eq!(
        page["items"].as_array().unwrap().len() as u64,
        (total - 4).min(4)
    );
}

#[tokio::test]
async fn refuses_bad_paging() {
    let app = spawn_app().await;
    for (query, field) in [
        ("per_page=101", "per_page"),
        ("per_page=0", "per_page"),
        ("page=0", "page"),
        ("page=first", "page"),
    ] {
        let response = app.get(&format!("/v1/categories?{query}")).await;
        assert_eq!(invalid_fields(response).await, [field], "{query}");
    }
}
