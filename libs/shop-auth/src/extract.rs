//! Extractors that guard routes: put one in a handler's arguments.
//!
//! ```ignore
//! async fn my_orders(Authenticated(claims): Authenticated) -> ... // any signed-in account
//! async fn add_product(AdminOnly(claims): AdminOnly, ...) -> ... // admins only
//! ```
//!
//! The router's state must provide a [`Verifier`] (`Verifier: FromRef<S>`, for example
//! through `#[derive(FromRef)]` on the state struct).

use crate::{AuthError, Claims, Role, Verifier};
use axum::extract::{FromRef, FromRequestParts};
use http::request::Parts;
use http::{HeaderMap, header};

/// A request with a valid token: its claims.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Claims);

/// A request with a valid token of an admin.
#[derive(Debug, Clone)]
pub struct AdminOnly(pub Claims);

/// The claims of a valid token, or `None` when the request carries no token at all.
/// A token that is present but invalid is still refused: a client that sends one expects
/// to be recognised and should learn that it is not.
#[derive(Debug, Clone)]
pub struct OptionalAuth(pub Option<Claims>);

impl<S> FromRequestParts<S> for Authenticated
where
    Verifier: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let token = bearer_token(&parts.headers)?.ok_or(AuthError::MissingToken)?;
        let claims = Verifier::from_ref(state).verify(token).await?;
        Ok(Self(claims))
    }
}

impl<S> FromRequestParts<S> for AdminOnly
where
    Verifier: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Authenticated(claims) = Authenticated::from_request_parts(parts, state).await?;
        match claims.role {
            Role::Admin => Ok(Self(claims)),
            Role::Customer => Err(AuthError::Forbidden),
        }
    }
}

impl<S> FromRequestParts<S> for OptionalAuth
where
    Verifier: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match bearer_token(&parts.headers)? {
            None => Ok(Self(None)),
            Some(token) => Ok(Self(Some(Verifier::from_ref(state).verify(token).await?))),
        }
    }
}

/// The token of `Authorization: Bearer <token>`; `None` without the header.
fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, AuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| AuthError::MalformedHeader)?;
    let (scheme, token) = value.split_once(' ').ok_or(AuthError::MalformedHeader)?;
    // The scheme is case-insensitive (RFC 9110 §11.1).
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(AuthError::MalformedHeader);
    }
    Ok(Some(token))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestIssuer;
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use http::{Request, StatusCode};
    use tower::ServiceExt;
    use uuid::Uuid;

    async fn whoami(Authenticated(claims): Authenticated) -> String {
        claims.sub.to_string()
    }

    async fn admin(AdminOnly(claims): AdminOnly) -> String {
        claims.role.to_string()
    }

    async fn maybe(OptionalAuth(claims): OptionalAuth) -> String {
        claims.map_or_else(|| "anonymous".to_owned(), |c| c.sub.to_string())
    }

    fn app(verifier: Verifier) -> Router {
        Router::new()
            .route("/whoami", get(whoami))
            .route("/admin", get(admin))
            .route("/maybe", get(maybe))
            .with_state(verifier)
    }

    async fn call(
        app: &Router,
        path: &str,
        token: Option<&str>,
    ) -> (StatusCode, HeaderMap, String) {
        let mut request = Request::get(path);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let response = app
            .clone()
            .oneshot(request.body(Body::empty()).expect("request"))
            .await
            .expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        (status, headers, String::from_utf8_lossy(&body).into_owned())
    }

    fn problem_type(body: &str) -> String {
        let value: serde_json::Value = serde_json::from_str(body).expect("problem json");
        value["type"].as_str().unwrap_or_default().to_owned()
    }

    #[tokio::test]
    async fn authenticated_accepts_a_valid_token_and_refuses_the_rest() {
        let issuer = TestIssuer::start().await;
        let app = app(Verifier::from_jwks_url(
            issuer.jwks_url(),
            std::time::Duration::from_secs(2),
        ));
        let sub = Uuid::now_v7();

        let (status, _, body) =
            call(&app, "/whoami", Some(&issuer.token(sub, Role::Customer))).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, sub.to_string());

        let refused = [
            None,
            Some(issuer.expired_token(sub, Role::Customer)),
            Some(issuer.token_for_audience(sub, Role::Customer, "someone-else")),
            Some(issuer.token_signed_by_another_key(sub, Role::Customer)),
            Some(issuer.token_with_alg_none(sub, Role::Customer)),
            Some("not-a-jwt".to_owned()),
        ];
        for token in refused {
            let (status, headers, body) = call(&app, "/whoami", token.as_deref()).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}: {body}");
            assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
            assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
            assert_eq!(problem_type(&body), "/problems/unauthorized");
        }
    }

    #[tokio::test]
    async fn admin_only_forbids_customers() {
        let issuer = TestIssuer::start().await;
        let app = app(issuer.verifier());
        let sub = Uuid::now_v7();

        let (status, _, body) = call(&app, "/admin", Some(&issuer.token(sub, Role::Admin))).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "admin"));

        let (status, _, body) =
            call(&app, "/admin", Some(&issuer.token(sub, Role::Customer))).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(problem_type(&body), "/problems/forbidden");

        let (status, _, _) = call(&app, "/admin", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn optional_auth_allows_anonymous_but_not_bad_tokens() {
        let issuer = TestIssuer::start().await;
        let app = app(issuer.verifier());
        let sub = Uuid::now_v7();

        assert_eq!(call(&app, "/maybe", None).await.2, "anonymous");
        let (status, _, body) =
            call(&app, "/maybe", Some(&issuer.token(sub, Role::Customer))).await;
        assert_eq!((status, body), (StatusCode::OK, sub.to_string()));
        let (status, _, _) = call(
            &app,
            "/maybe",
            Some(&issuer.expired_token(sub, Role::Customer)),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn parses_the_authorization_header() {
        let headers = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, value.parse().expect("header value"));
            headers
        };
        assert_eq!(bearer_token(&headers("Bearer abc")).ok(), Some(Some("abc")));
        assert_eq!(bearer_token(&headers("bearer abc")).ok(), Some(Some("abc")));
        assert!(bearer_token(&headers("Basic abc")).is_err());
        assert!(bearer_token(&headers("Bearer ")).is_err());
        assert_eq!(bearer_token(&HeaderMap::new()).ok(), Some(None));
    }
}
