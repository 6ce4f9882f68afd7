use crate::helpers::{PASSWORD, invalid_fields, problem, spawn_app, spawn_app_with};
use serde_json::{Value, json};

#[tokio::test]
async fn registering_creates_a_customer_account() {
    let app = spawn_app().await;

    let response = app
        .register(" ada@example.com ", "Ada Lovelace", PASSWORD)
        .await;

    assert_eq!(response.status(), 201);
    let location = response.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let user: Value = response.json().await.expect("user");
    let id = user["id"].as_str().expect("id");
    assert_eq!(location, format!("/v1/users/{id}"));
    assert_eq!(id.parse::<uuid::Uuid>().expect("uuid").get_version_num(), 7);
    assert_eq!(user["email"], "ada@example.com", "trimmed");
    assert_eq!(user["name"], "Ada Lovelace");
    assert_eq!(user["role"], "customer");
    assert!(
        time::OffsetDateTime::parse(
            user["created_at"].as_str().expect("created_at"),
            &time::format_description::well_known::Rfc3339
        )
        .is_ok(),
        "{user}"
    );
    assert!(user.get("password").is_none() && user.get("password_hash").is_none());

    // The Location is where the account can be read, by itself.
    let token = app.token("ada@example.com", PASSWORD).await;
    let fetched: Value = app
        .get(&location, Some(&token))
        .await
        .json()
        .await
        .expect("user");
    assert_eq!(fetched, user);
}

#[tokio::test]
async fn an_email_address_registers_once_whatever_its_case() {
    let app = spawn_app().await;
    assert_eq!(
        app.register("ada@example.com", "Ada", PASSWORD)
            .await
            .status(),
        201
    );

    for taken in ["ada@example.com", "ADA@Example.com"] {
        let (status, body) = problem(app.register(taken, "Someone else", PASSWORD).await).await;
        assert_eq!(status, 409, "{taken}: {body}");
        assert_eq!(body["type"], "/problems/email-taken");
    }
}

#[tokio::test]
async fn concurrent_registrations_of_one_address_create_one_account() {
    let app = spawn_app().await;
    let attempts = ["race@example.com", "RACE@example.com", "Race@Example.com"]
        .map(|email| app.register(email, "Racer", PASSWORD));
    let statuses: Vec<u16> = futures::future::join_all(attempts)
        .await
        .iter()
        .map(|response| response.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        2,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn invalid_fields_are_each_named() {
    let app = spawn_app().await;
    let cases = [
        (
            json!({"email": "not-an-email", "name": "Ada", "password": PASSWORD}),
            vec!["email"],
        ),
        (
            json!({"email": "ada@example.com", "name": "  ", "password": PASSWORD}),
            vec!["name"],
        ),
        (
            json!({"email": "ada@example.com", "name": "x".repeat(101), "password": PASSWORD}),
            vec!["name"],
        ),
        (
            json!({"email": "ada@example.com", "name": "Ada", "password": "too-short"}),
            vec!["password"],
        ),
        (
            json!({"email": "nope", "name": "", "password": "short"}),
            vec!["email", "name", "password"],
        ),
        (json!({"name": "Ada", "password": PASSWORD}), vec!["email"]),
        (
            json!({"email": "ada@example.com", "name": 42, "password": PASSWORD}),
            vec!["name"],
        ),
    ];
    for (body, fields) in cases {
        let (status, problem) = problem(app.post_json("/v1/users", &body).await).await;
        assert_eq!(status, 422, "{body}: {problem}");
        assert_eq!(problem["type"], "/problems/validation");
        assert_eq!(invalid_fields(&problem), fields, "{body}");
    }
}

#[tokio::test]
async fn unknown_fields_are_rejected_so_nobody_registers_as_admin() {
    let app = spawn_app().await;
    let body = json!({
        "email": "mallory@example.com", "name": "Mallory", "password": PASSWORD, "role": "admin"
    });
    let (status, problem) = problem(app.post_json("/v1/users", &body).await).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(invalid_fields(&problem), ["role"]);
    // Nothing was created.
    assert_eq!(
        app.sign_in("mallory@example.com", PASSWORD).await.status(),
        401
    );
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_bad_request() {
    let app = spawn_app().await;
    let response = app
        .service
        .http
        .post(app.service.url("/v1/users"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("request");
    let (status, problem) = problem(response).await;
    assert_eq!(status, 400);
    assert_eq!(problem["type"], "/problems/bad-request");
}

/// A class signing up at once: Argon2 needs 19 MiB a hash, so only two hash at a time and
/// (here) nobody waits for a turn. Every answer is a 201 or a 503 with `Retry-After`
/// (never a 500), and a client that waits as told gets its account: all 32 exist in the end.
#[tokio::test]
async fn a_burst_of_sign_ups_is_bounded_and_loses_no_one() {
    let app = spawn_app_with(&[("PASSWORD_HASH_QUEUE_MS", "0".to_owned())]).await;
    let email = |i: usize| format!("student{i}@example.com");
    let sign_up = |i: usize| {
        let app = &app;
        async move { app.register(&email(i), "Student", PASSWORD).await }
    };

    let first = futures::future::join_all((0..32).map(sign_up)).await;
    let mut waiting = Vec::new();
    for (i, response) in first.into_iter().enumerate() {
        match response.status().as_u16() {
            201 => {}
            503 => {
                let retry_after = response.headers()["retry-after"].to_str().expect("ascii");
                assert_eq!(retry_after, "1");
                waiting.push(i);
            }
            other => panic!(
                "sign-up {i}: {other} {}",
                response.text().await.unwrap_or_default()
            ),
        }
    }
    assert!(waiting.len() < 32, "some sign-ups must be served at once");
    assert!(
        waiting.len() >= 16,
        "at most two hash at once: most must be told to retry"
    );
    println!(
        "32 sign-ups at once: {} served, {} told to retry",
        32 - waiting.len(),
        waiting.len()
    );

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !waiting.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "still refused: {waiting:?}"
        );
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let retries = futures::future::join_all(waiting.iter().map(|&i| sign_up(i))).await;
        let mut still = Vec::new();
        for (&i, response) in waiting.iter().zip(retries) {
            match response.status().as_u16() {
                201 => {}
                503 => still.push(i),
                other => panic!("retry {i}: {other}"),
            }
        }
        waiting = still;
    }
    for i in 0..32 {
        assert_eq!(
            app.sign_in(&email(i), PASSWORD).await.status(),
            200,
            "{}",
            email(i)
        );
    }
}

/// Postgres cannot store a NUL in `text`: it must be refused by name before, never a 500.
#[tokio::test]
async fn a_nul_in_any_field_is_refused_naming_it() {
    let app = spawn_app().await;
    for (email, name, field) in [
        ("ada\u{0}@example.com", "Ada", "email"),
        ("ada@example.com", "Ada\u{0}Lovelace", "name"),
    ] {
        let (status, problem) = problem(app.register(email, name, PASSWORD).await).await;
        assert_eq!(status, 422, "{field}: {problem}");
        assert_eq!(invalid_fields(&problem), [field]);
    }
}

#[tokio::test]
async fn sql_in_an_email_or_a_name_is_only_ever_data() {
    let app = spawn_app().await;
    let name = "Robert'); DROP TABLE users.accounts; --";
    let registered = app.register("bobby@example.com", name, PASSWORD).await;
    assert_eq!(registered.status(), 201);
    let user: Value = registered.json().await.expect("user");
    assert_eq!(user["name"], name, "stored as written");

    for email in [
        "' OR '1'='1",
        "admin@harbor.shop' --",
        "x' OR email LIKE '%",
    ] {
        let response = app.sign_in(email, "' OR '1'='1").await;
        assert!(
            matches!(response.status().as_u16(), 401 | 422),
            "{email}: {}",
            response.status()
        );
    }
    // The table is still there, and the account signs in.
    assert_eq!(
        app.sign_in("bobby@example.com", PASSWORD).await.status(),
        200
    );
}
