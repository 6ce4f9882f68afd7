use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, PASSWORD, spawn_app};
use serde_json::Value;
use shop_auth::Role;
use users::bootstrap::ensure_admin;
use users::config::{AdminConfig, Secret};

fn admin_config(email: &str, password: Option<&str>) -> AdminConfig {
    AdminConfig {
        email: email.to_owned(),
        password: password.map(|p| Secret(p.to_owned())),
    }
}

#[tokio::test]
async fn the_configured_admin_signs_in_as_an_admin() {
    let app = spawn_app().await;

    let token = app.token(ADMIN_EMAIL, ADMIN_PASSWORD).await;

    let claims = app.issuer.verifier().verify(&token).await.expect("valid");
    assert_eq!(claims.role, Role::Admin);
    let me: Value = app
        .get("/v1/users/me", Some(&token))
        .await
        .json()
        .await
        .expect("user");
    assert_eq!(me["email"], ADMIN_EMAIL);
    assert_eq!(me["role"], "admin");
}

#[tokio::test]
async fn bootstrapping_again_changes_nothing() {
    let app = spawn_app().await;
    let pool = app.pool().await;
    let config = admin_config(ADMIN_EMAIL, Some(ADMIN_PASSWORD));

    // The service ran it at start-up; run it twice more.
    let first = ensure_admin(&pool, &hasher(), &config)
        .await
        .expect("bootstrap");
    let second = ensure_admin(&pool, &hasher(), &config)
        .await
        .expect("bootstrap");

    assert!(first.is_some());
    assert_eq!(first, second, "the same account");
    let admins: i64 = sqlx::query_scalar("SELECT count(*) FROM users.accounts")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(admins, 1);
    app.token(ADMIN_EMAIL, ADMIN_PASSWORD).await;
}

#[tokio::test]
async fn bootstrapping_promotes_an_existing_account_and_resets_its_password() {
    let app = spawn_app().await;
    let (id, _) = app.customer("boss@example.com").await;

    let admin = ensure_admin(
        &app.pool().await,
        &hasher(),
        &admin_config("BOSS@example.com", Some("the new admin password")),
    )
    .await
    .expect("bootstrap");

    assert_eq!(admin, Some(id));
    assert_eq!(
        app.sign_in("boss@example.com", PASSWORD).await.status(),
        401
    );
    let token = app
        .token("boss@example.com", "the new admin password")
        .await;
    let claims = app.issuer.verifier().verify(&token).await.expect("valid");
    assert_eq!((claims.sub, claims.role), (id, Role::Admin));
}

#[tokio::test]
async fn without_a_password_no_admin_is_created() {
    let app = spawn_app().await;
    let pool = app.pool().await;

    let outcome = ensure_admin(&pool, &hasher(), &admin_config("root@example.com", None))
        .await
        .expect("not an error");

    assert_eq!(outcome, None);
    let found: i64 =
        sqlx::query_scalar("SELECT count(*) FROM users.accounts WHERE email = 'root@example.com'")
            .fetch_one(&pool)
            .await
            .expect("count");
    assert_eq!(found, 0);
}

#[tokio::test]
async fn a_weak_admin_password_stops_the_bootstrap() {
    let app = spawn_app().await;
    let error = ensure_admin(
        &app.pool().await,
        &hasher(),
        &admin_config(ADMIN_EMAIL, Some("admin")),
    )
    .await
    .expect_err("refused");
    assert!(error.to_string().contains("ADMIN_PASSWORD"), "{error}");
}

/// One hash at a time, for calling the bootstrap directly.
fn hasher() -> users::hasher::PasswordHasher {
    users::hasher::PasswordHasher::new(std::num::NonZeroUsize::MIN).expect("threads")
}
