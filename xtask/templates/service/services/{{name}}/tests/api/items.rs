//! A customer's list through the API: saving, reading, removing, and what is refused.

use crate::helpers::{send, spawn_app};
use {{name}}::domain::MAX_ITEMS;
use serde_json::{Value, json};
use uuid::Uuid;

#[tokio::test]
async fn a_saved_product_is_listed_until_it_is_removed() {
    let app = spawn_app().await;
    let (_, token) = app.customer();
    let (first, second) = (Uuid::new_v4(), Uuid::new_v4());

    let added: Value = send(app.save(&token, first, json!({"note": " for the boat "})), 201)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(added["product_id"], first.to_string());
    assert_eq!(added["note"], "for the boat", "trimmed");
    send(app.save(&token, second, json!({})), 201).await;
    assert_eq!(app.listed(&token).await, [second, first], "newest first");

    let updated: Value = send(app.save(&token, first, json!({"note": "a gift"})), 200)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(updated["note"], "a gift");
    assert_eq!(updated["added_at"], added["added_at"], "saving again keeps the time");

    send(app.remove(&token, first), 204).await;
    assert_eq!(app.listed(&token).await, [second]);
    let again = send(app.remove(&token, first), 404).await;
    assert_eq!(again.headers()["content-type"], "application/problem+json");
}

#[tokio::test]
async fn each_customer_sees_only_their_own_list() {
    let app = spawn_app().await;
    let (_, alice) = app.customer();
    let (_, bob) = app.customer();
    let product = Uuid::new_v4();
    send(app.save(&alice, product, json!({})), 201).await;

    assert!(app.listed(&bob).await.is_empty());
    send(app.remove(&bob, product), 404).await;
    assert_eq!(app.listed(&alice).await, [product], "bob removed nothing");
}

#[tokio::test]
async fn without_a_valid_token_nothing_is_read_or_written() {
    let app = spawn_app().await;
    let anonymous = app.service.http.get(app.service.url("/v1/{{name}}"));
    let refused = send(anonymous, 401).await;
    assert_eq!(refused.headers()["content-type"], "application/problem+json");
    send(app.list("not-a-token"), 401).await;
    let forged = app.issuer.token_signed_by_another_key(Uuid::new_v4(), shop_auth::Role::Customer);
    send(app.save(&forged, Uuid::new_v4(), json!({})), 401).await;
}

#[tokio::test]
async fn bad_input_is_a_problem_naming_the_field() {
    let app = spawn_app().await;
    let (_, token) = app.customer();
    let product = Uuid::new_v4();

    for note in ["x".repeat(201), "line\nbreak".to_owned()] {
        let refused: Value = send(app.save(&token, product, json!({ "note": note })), 422)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(refused["type"], "/problems/validation", "{refused}");
        assert_eq!(refused["errors"][0]["field"], "note", "{refused}");
    }
    // Not a uuid, an unknown field, not JSON: problems, never a 500.
    let url = app.service.url("/v1/{{name}}/not-a-uuid");
    let bad_path = app.service.http.put(url).bearer_auth(&token).json(&json!({}));
    let refused: Value = send(bad_path, 422).await.json().await.unwrap();
    assert_eq!(refused["type"], "/problems/validation", "{refused}");
    send(app.save(&token, product, json!({"colour": "red"})), 422).await;
    let not_json = app
        .service
        .http
        .put(app.service.url(&format!("/v1/{{name}}/{product}")))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{");
    send(not_json, 400).await;
    assert!(app.listed(&token).await.is_empty(), "nothing was saved");
}

#[tokio::test]
async fn a_full_list_takes_no_new_product_but_keeps_its_notes_editable() {
    let app = spawn_app().await;
    let (_, token) = app.customer();
    let products: Vec<Uuid> = (0..MAX_ITEMS).map(|_| Uuid::new_v4()).collect();
    for &product in &products {
        send(app.save(&token, product, json!({})), 201).await;
    }

    let refused: Value = send(app.save(&token, Uuid::new_v4(), json!({})), 409)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(refused["type"], "/problems/list-full", "{refused}");
    assert_eq!(app.listed(&token).await.len(), MAX_ITEMS, "the refused one was not kept");
    send(app.save(&token, products[0], json!({"note": "still editable"})), 200).await;
}

#[tokio::test]
async fn concurrent_saves_never_overfill_a_list() {
    let app = spawn_app().await;
    let (_, token) = app.customer();
    for _ in 0..MAX_ITEMS - 1 {
        send(app.save(&token, Uuid::new_v4(), json!({})), 201).await;
    }
    // Ten new products at once for the last place: exactly one gets it.
    let saves = (0..10).map(|_| app.save(&token, Uuid::new_v4(), json!({})).send());
    let answers = futures_statuses(saves).await;
    assert_eq!(answers.iter().filter(|&&status| status == 201).count(), 1, "{answers:?}");
    assert_eq!(answers.iter().filter(|&&status| status == 409).count(), 9, "{answers:?}");
    assert_eq!(app.listed(&token).await.len(), MAX_ITEMS);
}

/// The statuses of `requests`, sent at once.
async fn futures_statuses(
    requests: impl Iterator<Item = impl Future<Output = reqwest::Result<reqwest::Response>> + Send + 'static>,
) -> Vec<u16> {
    let tasks: Vec<_> = requests.map(tokio::spawn).collect();
    let mut statuses = Vec::new();
    for task in tasks {
        let response = task.await.expect("the task ends").expect("the service answers");
        statuses.push(response.status().as_u16());
    }
    statuses
}
