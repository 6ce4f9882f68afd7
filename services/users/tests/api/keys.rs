use crate::helpers::{PASSWORD, spawn_app, start};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use shop_auth::Verifier;
use shop_testing::TestDatabase;
use std::time::Duration;
use users::config::SCHEMA;

/// The `kid` in a token's header.
fn kid_of(token: &str) -> String {
    let header = token.split('.').next().expect("a JWT");
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).expect("base64url")).expect("json");
    assert_eq!(header["alg"], "EdDSA");
    header["kid"].as_str().expect("kid").to_owned()
}

#[tokio::test]
async fn the_jwks_publishes_the_key_that_signs_tokens() {
    let app = spawn_app().await;
    app.customer("ada@example.com").await;
    let token = app.token("ada@example.com", PASSWORD).await;

    let response = app.get("/.well-known/jwks.json", None).await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "public, max-age=300");
    let jwks: Value = response.json().await.expect("jwks");
    let keys = jwks["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 1, "{jwks}");
    let key = &keys[0];
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["crv"], "Ed25519");
    assert_eq!(key["alg"], "EdDSA");
    assert_eq!(key["use"], "sig");
    assert_eq!(key["kid"], kid_of(&token));
    assert_eq!(key["kid"], app.issuer.kid(), "the configured key");
    assert!(key.get("d").is_none(), "never the private part");
}

#[tokio::test]
async fn other_services_verify_its_tokens_through_the_jwks() {
    let app = spawn_app().await;
    let (id, token) = app.customer("ada@example.com").await;
    let verifier = Verifier::from_jwks_url(
        app.service.url("/.well-known/jwks.json"),
        Duration::from_secs(2),
    );

    let claims = verifier.verify(&token).await.expect("valid");

    assert_eq!(claims.sub, id);
}

#[tokio::test]
async fn without_a_configured_key_instances_share_a_generated_one() {
    let db = TestDatabase::create().await.expect("test database");
    let settings = [("DATABASE_URL", db.url_for(SCHEMA))];
    // Started together, as replicas are: they must still agree on one key.
    let (first, second) = tokio::join!(start(&settings), start(&settings));
    let (first, second) = (first.expect("starts"), second.expect("starts"));
    let jwks = async |service: &shop_testing::RunningService| -> Value {
        service
            .get("/.well-known/jwks.json")
            .await
            .json()
            .await
            .expect("jwks")
    };
    let first_jwks = jwks(&first).await;
    assert_eq!(first_jwks, jwks(&second).await);

    // And so does an instance started later (a restart).
    drop(first);
    let restarted = start(&settings).await.expect("starts");
    assert_eq!(first_jwks, jwks(&restarted).await);
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM users.signing_keys")
        .fetch_one(
            &sqlx::PgPool::connect(&db.url_for(SCHEMA))
                .await
                .expect("pool"),
        )
        .await
        .expect("count");
    assert_eq!(stored, 1);
}

#[tokio::test]
async fn a_configured_key_that_is_not_a_key_stops_the_start() {
    let db = TestDatabase::create().await.expect("test database");
    let started = start(&[
        ("DATABASE_URL", db.url_for(SCHEMA)),
        (
            "JWT_PRIVATE_KEY_PEM",
            "-----BEGIN PRIVATE KEY-----\nnope\n".to_owned(),
        ),
    ])
    .await;
    let error = started.expect_err("refuses to start");
    assert!(error.to_string().contains("JWT_PRIVATE_KEY_PEM"), "{error}");
}

#[tokio::test]
async fn the_token_lifetime_is_configurable() {
    let db = TestDatabase::create().await.expect("test database");
    let service = start(&[
        ("DATABASE_URL", db.url_for(SCHEMA)),
        ("JWT_TTL_SECONDS", "60".to_owned()),
        ("ADMIN_PASSWORD", "admin-test-password".to_owned()),
    ])
    .await
    .expect("starts");
    let session: Value = service
        .http
        .post(service.url("/v1/sessions"))
        .json(&serde_json::json!({"email": "admin@harbor.shop", "password": "admin-test-password"}))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("session");
    assert_eq!(session["expires_in"], 60);
}
