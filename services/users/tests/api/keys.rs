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

/// Signs in on `service`: the access token.
async fn sign_in(service: &shop_testing::RunningService, email: &str, password: &str) -> String {
    let response = service
        .http
        .post(service.url("/v1/sessions"))
        .json(&serde_json::json!({ "email": email, "password": password }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200, "sign-in of {email}");
    let session: Value = response.json().await.expect("session");
    session["access_token"].as_str().expect("token").to_owned()
}

async fn kids(service: &shop_testing::RunningService) -> Vec<String> {
    let jwks: Value = service
        .get("/.well-known/jwks.json")
        .await
        .json()
        .await
        .expect("jwks");
    jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|key| key["kid"].as_str().expect("kid").to_owned())
        .collect()
}

/// How a verifier elsewhere caches the JWKS in this test: the production figures, scaled
/// down (`shop_auth::KEY_AGES`).
const VERIFIER_AGES: shop_auth::KeyAges = shop_auth::KeyAges {
    fresh: Duration::from_millis(600),
    stale_limit: Duration::from_secs(60),
    min_refresh_interval: Duration::from_millis(300),
};

#[tokio::test]
async fn a_rotated_key_signs_on_every_instance_and_the_old_tokens_stay_valid() {
    let db = TestDatabase::create().await.expect("test database");
    // Published this long before it signs: longer than the verifier's fresh + refresh
    // interval, as the production default is longer than KEY_AGES'.
    let activation = Duration::from_millis(1200);
    let settings = [
        ("DATABASE_URL", db.url_for(SCHEMA)),
        ("ADMIN_PASSWORD", crate::helpers::ADMIN_PASSWORD.to_owned()),
        (
            "JWT_KEY_ACTIVATION_DELAY_MS",
            activation.as_millis().to_string(),
        ),
    ];
    let (first, second) = tokio::join!(start(&settings), start(&settings));
    let (first, second) = (first.expect("starts"), second.expect("starts"));
    let admin = sign_in(
        &first,
        crate::helpers::ADMIN_EMAIL,
        crate::helpers::ADMIN_PASSWORD,
    )
    .await;
    let old_kid = kid_of(&admin);
    let elsewhere = Verifier::from_jwks_url_with(
        second.url("/.well-known/jwks.json"),
        Duration::from_secs(2),
        VERIFIER_AGES,
    );
    elsewhere
        .verify(&admin)
        .await
        .expect("valid before the rotation");

    // A customer cannot rotate; the admin can, on either instance.
    let rotate = |token: &str| {
        second
            .http
            .post(second.url("/v1/signing-keys"))
            .bearer_auth(token)
            .send()
    };
    assert_eq!(
        rotate(&elsewhere_customer(&first).await)
            .await
            .expect("request")
            .status(),
        403
    );
    let rotated = rotate(&admin).await.expect("request");
    assert_eq!(rotated.status(), 201);
    let rotated: Value = rotated.json().await.expect("json");
    let new_kid = rotated["kid"].as_str().expect("kid").to_owned();
    assert_ne!(new_kid, old_kid);
    assert_eq!(rotated["published"], serde_json::json!([new_kid, old_kid]));
    assert_eq!(rotated["active_in_seconds"], 1);

    // Published at once on both instances, but the old key still signs...
    assert_eq!(kids(&first).await, vec![new_kid.clone(), old_kid.clone()]);
    assert_eq!(kids(&second).await, kids(&first).await);
    let admin_again = async |service| {
        sign_in(
            service,
            crate::helpers::ADMIN_EMAIL,
            crate::helpers::ADMIN_PASSWORD,
        )
        .await
    };
    assert_eq!(kid_of(&admin_again(&first).await), old_kid);
    // ...until the delay has passed: then the new one signs, on every instance.
    tokio::time::sleep(activation).await;
    let fresh = admin_again(&first).await;
    assert_eq!(kid_of(&fresh), new_kid);
    assert_eq!(kid_of(&admin_again(&second).await), new_kid);

    // Tokens of either key are accepted everywhere: by each instance itself, and by a
    // service verifying through the JWKS (which meets the new kid and refetches).
    for token in [&admin, &fresh] {
        for service in [&first, &second] {
            let me = service
                .http
                .get(service.url("/v1/users/me"))
                .bearer_auth(token)
                .send()
                .await
                .expect("request");
            assert_eq!(me.status(), 200, "{}", kid_of(token));
        }
        elsewhere
            .verify(token)
            .await
            .expect("valid through the JWKS");
    }
}

#[tokio::test]
async fn configured_keys_rotate_in_the_configuration_not_through_the_api() {
    let old = shop_auth::SigningKey::generate().expect("key");
    let new = shop_auth::SigningKey::generate().expect("key");
    let db = TestDatabase::create().await.expect("test database");
    let pem = |key: &shop_auth::SigningKey| key.to_pkcs8_pem().expect("pem").to_string();
    let service = start(&[
        ("DATABASE_URL", db.url_for(SCHEMA)),
        ("ADMIN_PASSWORD", crate::helpers::ADMIN_PASSWORD.to_owned()),
        ("JWT_PRIVATE_KEY_PEM", pem(&new)),
        ("JWT_PREVIOUS_PRIVATE_KEY_PEM", pem(&old)),
    ])
    .await
    .expect("starts");
    assert_eq!(
        kids(&service).await,
        vec![new.kid().to_owned(), old.kid().to_owned()]
    );
    // A token the old key signed before the restart is still accepted.
    let before = old
        .sign(&shop_auth::Claims::new(
            uuid::Uuid::now_v7(),
            shop_auth::Role::Admin,
            Duration::from_secs(60),
        ))
        .expect("sign");
    let response = service
        .http
        .post(service.url("/v1/signing-keys"))
        .bearer_auth(&before)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 409);
    let problem: Value = response.json().await.expect("problem");
    assert_eq!(problem["type"], "/problems/signing-keys-configured");
}

/// A customer registered and signed in on `service`: the token.
async fn elsewhere_customer(service: &shop_testing::RunningService) -> String {
    let email = format!("{}@example.com", uuid::Uuid::new_v4().simple());
    let registered = service
        .http
        .post(service.url("/v1/users"))
        .json(&serde_json::json!({ "email": email, "name": "Ada", "password": PASSWORD }))
        .send()
        .await
        .expect("request");
    assert_eq!(registered.status(), 201);
    sign_in(service, &email, PASSWORD).await
}
