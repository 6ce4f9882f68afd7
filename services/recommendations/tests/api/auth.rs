//! Personalized recommendations reveal a user's purchases: only they (or an admin) may ask.

use crate::helpers::{products, record_order, spawn_app};
use shop_auth::Role;
use uuid::Uuid;

#[tokio::test]
async fn a_user_id_needs_a_token() {
    let app = spawn_app().await;
    let answer = app
        .recommendations(&format!("user_id={}", Uuid::new_v4()), None)
        .await;
    assert_eq!(answer.status, 401, "{}", answer.body);
    assert_eq!(answer.body["type"], "/problems/unauthorized");
    assert_eq!(answer.headers["www-authenticate"], "Bearer");
    assert_eq!(answer.headers["content-type"], "application/problem+json");
}

#[tokio::test]
async fn another_users_token_is_forbidden() {
    let app = spawn_app().await;
    let token = app.issuer.token(Uuid::new_v4(), Role::Customer);
    let answer = app
        .recommendations(&format!("user_id={}", Uuid::new_v4()), Some(&token))
        .await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert_eq!(answer.body["type"], "/problems/forbidden");
}

#[tokio::test]
async fn an_admin_may_see_any_users_recommendations() {
    let app = spawn_app().await;
    let [owned, suggested] = products(2)[..] else {
        unreachable!()
    };
    let user = Uuid::new_v4();
    record_order(&app.pool, user, &[owned]).await;
    record_order(&app.pool, Uuid::new_v4(), &[owned, suggested]).await;

    let token = app.issuer.token(Uuid::new_v4(), Role::Admin);
    let answer = app
        .recommendations(&format!("user_id={user}"), Some(&token))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.source(), "personalized");
    assert_eq!(answer.products(), [suggested]);
}

#[tokio::test]
async fn invalid_tokens_are_refused() {
    let app = spawn_app().await;
    let user = Uuid::new_v4();
    let refused = app.issuer.forgeries(user, Role::Customer);
    for (what, token) in refused {
        let answer = app
            .recommendations(&format!("user_id={user}"), Some(&token))
            .await;
        assert_eq!(answer.status, 401, "{what}: {}", answer.body);
        assert_eq!(answer.body["type"], "/problems/unauthorized", "{what}");
    }
}
