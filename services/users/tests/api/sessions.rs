use crate::helpers::{PASSWORD, problem, spawn_app, spawn_app_with};
use serde_json::Value;
use shop_auth::Role;

#[tokio::test]
async fn signing_in_returns_a_bearer_token_for_the_account() {
    let app = spawn_app().await;
    let (id, _) = app.customer("ada@example.com").await;

    // The address matches whatever its case.
    let response = app.sign_in("Ada@Example.com", PASSWORD).await;

    assert_eq!(response.status(), 200);
    let session: Value = response.json().await.expect("session");
    assert_eq!(session["token_type"], "Bearer");
    assert_eq!(session["expires_in"], 3600);
    let token = session["access_token"].as_str().expect("access_token");
    let claims = app.issuer.verifier().verify(token).await.expect("valid");
    assert_eq!(claims.sub, id);
    assert_eq!(claims.role, Role::Customer);
    assert_eq!(claims.iss, shop_auth::ISSUER);
    assert_eq!(claims.aud, shop_auth::AUDIENCE);
    assert_eq!(claims.exp - claims.iat, 3600);
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_address_get_the_same_answer() {
    let app = spawn_app().await;
    app.customer("ada@example.com").await;

    let (status, wrong_password) =
        problem(app.sign_in("ada@example.com", "not the password").await).await;
    assert_eq!(status, 401);
    assert_eq!(wrong_password["type"], "/problems/invalid-credentials");

    let (status, unknown_address) = problem(app.sign_in("bob@example.com", PASSWORD).await).await;
    assert_eq!(status, 401);
    let without_ids = |mut problem: Value| {
        let object = problem.as_object_mut().expect("object");
        object.remove("request_id");
        object.remove("trace_id");
        problem
    };
    assert_eq!(without_ids(wrong_password), without_ids(unknown_address));
}

#[tokio::test]
async fn missing_and_unknown_fields_are_named() {
    let app = spawn_app().await;
    let cases = [
        (serde_json::json!({"email": "ada@example.com"}), "password"),
        (
            serde_json::json!({"email": "a@b.co", "password": PASSWORD, "remember": true}),
            "remember",
        ),
    ];
    for (body, field) in cases {
        let (status, problem) = problem(app.post_json("/v1/sessions", &body).await).await;
        assert_eq!(status, 422, "{problem}");
        assert_eq!(problem["errors"][0]["field"], field);
    }
}

#[tokio::test]
async fn repeated_failures_lock_the_account_even_for_the_right_password() {
    let app = spawn_app().await;
    app.customer("ada@example.com").await;

    // From five different addresses, so that only the account's count can trip.
    for attempt in 1..=5 {
        let ip = format!("198.51.100.{attempt}");
        let response = app.sign_in_from(&ip, "ADA@example.com", "guess").await;
        assert_eq!(response.status(), 401, "attempt {attempt}");
    }

    let response = app
        .sign_in_from("198.51.100.6", "ada@example.com", PASSWORD)
        .await;
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!(
        (1..=900).contains(&retry_after),
        "within the 15 minute window: {retry_after}"
    );
    let (_, body) = problem(response).await;
    assert_eq!(body["type"], "/problems/too-many-requests");

    // Other accounts are not affected.
    app.customer("bob@example.com").await;
}

/// An address allowed three failures, so the tests need not make a hundred.
async fn spawn_app_with_address_limit(limit: u32) -> crate::helpers::TestApp {
    spawn_app_with(&[("SIGN_IN_MAX_FAILURES_PER_ADDRESS", limit.to_string())]).await
}

#[tokio::test]
async fn repeated_failures_lock_the_client_address_across_accounts() {
    let app = spawn_app_with_address_limit(3).await;
    app.customer("ada@example.com").await;

    for attempt in 1..=3 {
        let email = format!("nobody{attempt}@example.com");
        let response = app.sign_in_from("203.0.113.7", &email, PASSWORD).await;
        assert_eq!(response.status(), 401, "attempt {attempt}");
    }

    let locked = app
        .sign_in_from("203.0.113.7", "ada@example.com", PASSWORD)
        .await;
    assert_eq!(locked.status(), 429);
    assert!(locked.headers().contains_key("retry-after"));

    let elsewhere = app
        .sign_in_from("203.0.113.8", "ada@example.com", PASSWORD)
        .await;
    assert_eq!(elsewhere.status(), 200, "another address may still sign in");
}

#[tokio::test]
async fn a_locked_account_does_not_lock_out_the_others_behind_the_same_address() {
    // A classroom behind one NAT: one student guesses wrong five times.
    let app = spawn_app().await;
    app.customer("ada@example.com").await;
    app.customer("bob@example.com").await;
    for attempt in 1..=5 {
        let response = app
            .sign_in_from("203.0.113.7", "ada@example.com", "guess")
            .await;
        assert_eq!(response.status(), 401, "attempt {attempt}");
    }
    let ada = app
        .sign_in_from("203.0.113.7", "ada@example.com", PASSWORD)
        .await;
    assert_eq!(ada.status(), 429, "the account is locked");

    let bob = app
        .sign_in_from("203.0.113.7", "bob@example.com", PASSWORD)
        .await;
    assert_eq!(bob.status(), 200, "the address is not");
}

#[tokio::test]
async fn concurrent_guesses_get_no_more_checks_than_the_limit() {
    let app = spawn_app().await;
    app.customer("ada@example.com").await;

    // Twenty guesses at once, from twenty addresses: only the account's limit applies.
    let guesses = (1..=20).map(|n| {
        let app = &app;
        async move {
            app.sign_in_from(&format!("198.51.100.{n}"), "ada@example.com", "guess")
                .await
                .status()
                .as_u16()
        }
    });
    let statuses = futures::future::join_all(guesses).await;

    let checked = statuses.iter().filter(|&&status| status == 401).count();
    let refused = statuses.iter().filter(|&&status| status == 429).count();
    // 503s (every hasher busy for the whole queue wait) are not checks either.
    assert!(checked <= 5, "{checked} guesses were checked: {statuses:?}");
    assert!(checked >= 1, "{statuses:?}");
    assert_eq!(
        checked + refused + statuses.iter().filter(|&&s| s == 503).count(),
        20,
        "{statuses:?}"
    );
    let failures: i32 = sqlx::query_scalar(
        "SELECT failures FROM users.login_failures WHERE scope = 'email' AND subject = $1",
    )
    .bind("ada@example.com")
    .fetch_one(&app.pool().await)
    .await
    .unwrap();
    assert_eq!(
        usize::try_from(failures).unwrap(),
        checked,
        "refused and unchecked attempts are taken back"
    );
}

#[tokio::test]
async fn a_client_that_is_not_a_trusted_proxy_cannot_choose_its_address() {
    // Nothing trusted: the connection's address counts, whatever the header says.
    let app = spawn_app_with(&[
        ("TRUSTED_PROXIES", String::new()),
        ("SIGN_IN_MAX_FAILURES_PER_ADDRESS", "3".to_owned()),
    ])
    .await;
    for attempt in 1..=3 {
        let forged = format!("192.0.2.{attempt}");
        let email = format!("nobody{attempt}@example.com");
        let response = app.sign_in_from(&forged, &email, PASSWORD).await;
        assert_eq!(response.status(), 401, "attempt {attempt}");
    }
    let response = app
        .sign_in_from("192.0.2.99", "someone@example.com", PASSWORD)
        .await;
    assert_eq!(
        response.status(),
        429,
        "all counted under the test's own address"
    );
    let subjects: Vec<String> = sqlx::query_scalar(
        "SELECT subject FROM users.login_failures WHERE scope = 'ip' ORDER BY subject",
    )
    .fetch_all(&app.pool().await)
    .await
    .unwrap();
    assert_eq!(subjects, ["127.0.0.1"]);
}

#[tokio::test]
async fn without_a_forwarded_address_the_connection_is_counted() {
    let app = spawn_app_with_address_limit(3).await;
    for attempt in 1..=3 {
        let email = format!("nobody{attempt}@example.com");
        assert_eq!(app.sign_in(&email, PASSWORD).await.status(), 401);
    }
    assert_eq!(
        app.sign_in("someone@example.com", PASSWORD).await.status(),
        429
    );
}

#[tokio::test]
async fn signing_in_clears_the_accounts_failures() {
    let app = spawn_app().await;
    app.customer("ada@example.com").await;
    let mut ip = 0;
    let mut fail_four_times = async || {
        for _ in 0..4 {
            ip += 1;
            let response = app
                .sign_in_from(&format!("192.0.2.{ip}"), "ada@example.com", "guess")
                .await;
            assert_eq!(response.status(), 401);
        }
    };

    fail_four_times().await;
    assert_eq!(
        app.sign_in_from("192.0.2.100", "ada@example.com", PASSWORD)
            .await
            .status(),
        200
    );
    fail_four_times().await;

    // Eight failures in the window, but only four since the last success.
    assert_eq!(
        app.sign_in_from("192.0.2.101", "ada@example.com", PASSWORD)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn expired_failures_are_forgotten_by_the_next_failure() {
    let app = spawn_app().await;
    let pool = app.pool().await;
    sqlx::query(
        "INSERT INTO users.login_failures (scope, subject, failures, window_started_at) \
         VALUES ('ip', '198.51.100.7', 3, now() - interval '1 day')",
    )
    .execute(&pool)
    .await
    .unwrap();

    let response = app
        .sign_in_from("192.0.2.50", "nobody@example.com", "guess")
        .await;
    assert_eq!(response.status(), 401);

    let subjects: Vec<String> =
        sqlx::query_scalar("SELECT subject FROM users.login_failures ORDER BY subject")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        subjects,
        ["192.0.2.50", "nobody@example.com"],
        "the day-old failure is gone, the new ones stay"
    );
}

#[tokio::test]
async fn signing_out_revokes_that_token_and_no_other() {
    let app = spawn_app().await;
    let (_, token) = app.customer("ada@example.com").await;
    let other = app.token("ada@example.com", PASSWORD).await;
    assert_eq!(app.get("/v1/users/me", Some(&token)).await.status(), 200);

    let signed_out = app
        .service
        .http
        .delete(app.service.url("/v1/sessions/current"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("request");
    assert_eq!(signed_out.status(), 204);

    let (status, body) = problem(app.get("/v1/users/me", Some(&token)).await).await;
    assert_eq!(status, 401);
    assert_eq!(body["detail"], "the token was revoked (signed out)");
    assert_eq!(
        app.get("/v1/users/me", Some(&other)).await.status(),
        200,
        "another session lives on"
    );

    // Signing out again with the revoked token is refused like any other use of it.
    let again = app
        .service
        .http
        .delete(app.service.url("/v1/sessions/current"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("request");
    assert_eq!(again.status(), 401);
}

#[tokio::test]
async fn signing_out_needs_a_token() {
    let app = spawn_app().await;
    let response = app
        .service
        .http
        .delete(app.service.url("/v1/sessions/current"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 401);
}
