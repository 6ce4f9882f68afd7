//! `/v1/sessions`: signing in.

use crate::app::AppState;
use crate::db;
use crate::domain::account::email_key;
use crate::domain::throttle::{AttemptKeys, MAX_FAILURES, WINDOW};
use crate::error::Error;
use crate::tokens::AccessToken;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use serde::Deserialize;
use shop_server::{Json, Problem};
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use utoipa::ToSchema;

/// An email address and its password.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    #[schema(example = "ada@example.com")]
    email: String,
    #[schema(example = "correct horse battery")]
    password: String,
}

/// Signs in: exchanges an email address and password for an access token.
///
/// After 5 failed attempts for one account, or from one client address, within 15
/// minutes, further attempts are refused until the window ends.
#[utoipa::path(
    post,
    path = "/v1/sessions",
    tag = "sessions",
    request_body = SignIn,
    responses(
        (status = 200, description = "Signed in", body = AccessToken),
        (status = 401, description = "`/problems/invalid-credentials`: the address is unknown \
            or the password wrong (the answer does not say which)", body = Problem,
            content_type = "application/problem+json"),
        (status = 422, description = "A missing or unknown field, named in `errors`",
            body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`/problems/too-many-requests`: too many failed attempts",
            body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until attempts are accepted again"))),
        (status = 503, description = "`/problems/unavailable`: every password hasher is busy \
            (a burst of sign-ins), or the database is unreachable", body = Problem,
            content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait before retrying"))),
    )
)]
pub async fn sign_in(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<SignIn>,
) -> Result<Json<AccessToken>, Error> {
    let keys = AttemptKeys {
        email: email_key(&body.email),
        ip,
    };
    if let Some(wait) = db::login_failures::lockout(&state.db, &keys, MAX_FAILURES, WINDOW).await? {
        return Err(Error::TooManyAttempts(wait));
    }
    let account = db::accounts::find_credentials(&state.db, &body.email).await?;
    let hash = account
        .as_ref()
        .map(|account| account.password_hash.clone());
    let verified = state.hasher.verify(body.password, hash).await?;
    let Some(account) = account.filter(|_| verified) else {
        db::login_failures::record(&state.db, &keys, WINDOW).await?;
        // Failed sign-ins are what fill the table: they also empty it of the expired.
        db::login_failures::forget_expired(&state.db, WINDOW).await?;
        return Err(Error::InvalidCredentials);
    };
    db::login_failures::clear_account(&state.db, &keys.email).await?;
    Ok(Json(state.tokens.issue(account.id, account.role)?))
}

/// The client's IP address: the first hop of `X-Forwarded-For` when present, else the peer
/// of the connection.
///
/// Trusting `X-Forwarded-For` assumes the service is reached only through a proxy (the
/// ingress) that sets it; exposed directly, a client could pick the address it is counted
/// under. The per-account limit holds either way.
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let forwarded = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(',').next())
            .and_then(|first| first.trim().parse().ok());
        // Present when the server runs with connect info, as shop-server's does.
        let peer = || {
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip())
        };
        Ok(Self(forwarded.or_else(peer)))
    }
}
