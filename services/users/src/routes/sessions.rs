//! `/v1/sessions`: signing in.

use crate::actions::{sign_in, sign_out};
use crate::app::AppState;
use crate::error::Error;
use crate::routes::SignedIn;
use crate::tokens::AccessToken;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use shop_server::{ClientAddr, Json, Problem};
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
/// After 5 failed attempts for one account, or 100 from one client address, within 15
/// minutes, further attempts are refused until the window ends (the limits are the
/// service's `SIGN_IN_MAX_FAILURES_PER_ACCOUNT` and `SIGN_IN_MAX_FAILURES_PER_ADDRESS`).
/// The client's address is the connection's, or the one a trusted proxy reports.
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
    ClientAddr(ip): ClientAddr,
    Json(body): Json<SignIn>,
) -> Result<Json<AccessToken>, Error> {
    sign_in::sign_in(&state, &body.email, body.password, ip)
        .await
        .map(Json)
}

/// Signs out: the bearer's token is refused from now on, by this service and by the
/// storefront (which asks this service about a session's token at least every
/// `SESSION_CHECK_INTERVAL_MS`). Other services check only a token's signature and
/// expiry: it is refused there when it expires (`JWT_TTL_SECONDS`).
#[utoipa::path(
    delete,
    path = "/v1/sessions/current",
    tag = "sessions",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Signed out: the token is revoked"),
        (status = 401, description = "No valid token", body = Problem,
            content_type = "application/problem+json"),
    )
)]
pub async fn sign_out(
    SignedIn(claims): SignedIn,
    State(state): State<AppState>,
) -> Result<StatusCode, Error> {
    sign_out::sign_out(&state, &claims).await?;
    Ok(StatusCode::NO_CONTENT)
}
