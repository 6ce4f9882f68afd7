//! Exercise tests, ignored until a team takes the exercise on: see
//! `docs/exercises/users-email-verification.md`. They compile today and fail until solved;
//! `cargo nextest run -p users --run-ignored ignored-only -E 'test(exercise)'` runs them.

use crate::helpers::{PASSWORD, spawn_app};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

#[tokio::test]
#[ignore = "exercise: e-mail verification through an event (docs/exercises/users-email-verification.md)"]
async fn exercise_a_new_account_is_verified_with_the_token_its_event_carries() {
    let app = spawn_app().await;
    let (user_id, token) = app.customer("grace@example.com").await;

    let me: Value = app
        .get("/v1/users/me", Some(&token))
        .await
        .json()
        .await
        .expect("me");
    assert_eq!(
        me["email_verified"], false,
        "a new account is unverified: {me}"
    );

    // The request to verify is an event in the same transaction as the account, so a mail
    // sender (another team's consumer) can send the link: find it in the outbox.
    let pool = app.pool().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let requested: Value = loop {
        let found: Option<Value> = sqlx::query_scalar(
            "SELECT payload FROM users.outbox WHERE payload->>'type' = 'EmailVerificationRequested'",
        )
        .fetch_optional(&pool)
        .await
        .expect("outbox");
        if let Some(found) = found {
            break found;
        }
        assert!(
            Instant::now() < deadline,
            "no EmailVerificationRequested in the outbox"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(requested["data"]["user_id"], user_id.to_string());
    let secret = requested["data"]["token"]
        .as_str()
        .expect("a token in the event");
    assert!(secret.len() >= 32, "a token that cannot be guessed");

    let wrong = app
        .post_json("/v1/users/verify", &json!({ "token": "not-the-token" }))
        .await;
    assert_eq!(
        wrong.status(),
        404,
        "an unknown token is a problem, not a 500"
    );
    let verified = app
        .post_json("/v1/users/verify", &json!({ "token": secret }))
        .await;
    assert_eq!(verified.status(), 204);
    let again = app
        .post_json("/v1/users/verify", &json!({ "token": secret }))
        .await;
    assert_eq!(again.status(), 410, "a token verifies once");

    let me: Value = app
        .get("/v1/users/me", Some(&token))
        .await
        .json()
        .await
        .expect("me");
    assert_eq!(me["email_verified"], true, "{me}");
    let signed_in = app.sign_in("grace@example.com", PASSWORD).await;
    assert_eq!(
        signed_in.status(),
        200,
        "verifying does not lock the account out"
    );
}
