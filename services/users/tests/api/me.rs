use crate::helpers::{TestApp, problem, spawn_app};
use serde_json::Value;
use shop_auth::Role;
use uuid::Uuid;

#[tokio::test]
async fn me_is_the_account_of_the_token() {
    let app = spawn_app().await;
    let (id, token) = app.customer("ada@example.com").await;

    let response = app.get("/v1/users/me", Some(&token)).await;

    assert_eq!(response.status(), 200);
    let user: Value = response.json().await.expect("user");
    assert_eq!(user["id"], id.to_string());
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["name"], "Ada Lovelace");
    assert_eq!(user["role"], "customer");
}

/// A 401 problem with the challenge RFC 6750 asks for.
async fn assert_unauthorized(app: &TestApp, token: Option<&str>) {
    let response = app.get("/v1/users/me", token).await;
    assert_eq!(
        response
            .headers()
            .get("www-authenticate")
            .map(|v| v.as_bytes()),
        Some(&b"Bearer"[..])
    );
    let (status, body) = problem(response).await;
    assert_eq!(status, 401, "{token:?}: {body}");
    assert_eq!(body["type"], "/problems/unauthorized");
}

#[tokio::test]
async fn me_needs_a_valid_token() {
    let app = spawn_app().await;
    let (id, _) = app.customer("ada@example.com").await;
    // The service signs with the issuer's key: each forgery below differs from a token the
    // service accepts in one respect only.
    let genuine = app.issuer.token(id, Role::Customer);
    assert_eq!(app.get("/v1/users/me", Some(&genuine)).await.status(), 200);

    assert_unauthorized(&app, None).await;
    for (what, forged) in app.issuer.forgeries(id, Role::Customer) {
        let response = app.get("/v1/users/me", Some(&forged)).await;
        assert_eq!(response.status(), 401, "{what}");
    }
    // Not `Bearer <token>` at all.
    for header in [
        "Basic YWRhOnNlY3JldA==",
        "Bearer",
        "Bearer ",
        genuine.as_str(),
    ] {
        let response = app
            .service
            .http
            .get(app.service.url("/v1/users/me"))
            .header("authorization", header)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 401, "Authorization: {header}");
    }
}

#[tokio::test]
async fn a_token_from_another_issuer_is_refused() {
    let app = spawn_app().await;
    let (id, _) = app.customer("ada@example.com").await;
    let stranger = shop_auth::testing::TestIssuer::start().await;
    assert_unauthorized(&app, Some(&stranger.token(id, Role::Admin))).await;
}

#[tokio::test]
async fn me_is_not_found_once_the_account_is_gone() {
    let app = spawn_app().await;
    let token = app.issuer.token(Uuid::now_v7(), Role::Customer);
    let (status, body) = problem(app.get("/v1/users/me", Some(&token)).await).await;
    assert_eq!(status, 404);
    assert_eq!(body["type"], "/problems/not-found");
}

#[tokio::test]
async fn an_account_is_visible_to_itself_and_admins_only() {
    let app = spawn_app().await;
    let (ada, ada_token) = app.customer("ada@example.com").await;
    let (_, bob_token) = app.customer("bob@example.com").await;
    let admin_token = app.issuer.token(Uuid::now_v7(), Role::Admin);
    let path = format!("/v1/users/{ada}");

    assert_eq!(app.get(&path, Some(&ada_token)).await.status(), 200);
    assert_eq!(app.get(&path, Some(&admin_token)).await.status(), 200);
    let (status, body) = problem(app.get(&path, Some(&bob_token)).await).await;
    assert_eq!(
        (status, &body["type"]),
        (403, &"/problems/forbidden".into())
    );
    assert_eq!(app.get(&path, None).await.status(), 401);

    let missing = format!("/v1/users/{}", Uuid::now_v7());
    assert_eq!(app.get(&missing, Some(&admin_token)).await.status(), 404);
    let (status, body) = problem(app.get("/v1/users/not-a-uuid", Some(&admin_token)).await).await;
    assert_eq!(status, 422);
    assert_eq!(body["errors"][0]["field"], "id");
}
