//! `/v1/sessions`: signing in.

use crate::app::AppState;
use crate::db;
use crate::db::accounts::Credentials;
use crate::domain::account::email_key;
use crate::domain::throttle::{self, Scope, WINDOW};
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
    let attempt = Attempt::count(&state, throttle::keys(&email_key(&body.email), ip)).await?;
    let checked = check_password(&state, &body).await;
    let account = match checked {
        Ok(Some(account)) => account,
        Ok(None) => {
            // Counted already: the attempt stays a failure.
            // Failed sign-ins are what fill the table: they also empty it of the expired.
            db::login_failures::forget_expired(&state.db, WINDOW).await?;
            return Err(Error::InvalidCredentials);
        }
        Err(error) => {
            // Not checked (every hasher busy, the database gone): not a failure either.
            attempt.uncount(&state).await?;
            return Err(error);
        }
    };
    attempt.succeeded(&state).await?;
    Ok(Json(state.tokens.issue(account.id, account.role).await?))
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
    db::revoked_tokens::revoke(&state.db, claims.jti, claims.exp).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The account whose password `body` has, if any.
async fn check_password(state: &AppState, body: &SignIn) -> Result<Option<Credentials>, Error> {
    let account = db::accounts::find_credentials(&state.db, &body.email).await?;
    let hash = account
        .as_ref()
        .map(|account| account.password_hash.clone());
    let verified = state.hasher.verify(body.password.clone(), hash).await?;
    Ok(account.filter(|_| verified))
}

/// A sign-in attempt, counted against each of its keys and within every limit.
struct Attempt {
    keys: Vec<(Scope, String)>,
}

impl Attempt {
    /// Counts the attempt against each key in turn; over a key's limit, takes it back
    /// from the keys before and refuses it (429), so a refusal is never a failure.
    async fn count(state: &AppState, keys: Vec<(Scope, String)>) -> Result<Self, Error> {
        for (counted, (scope, subject)) in keys.iter().enumerate() {
            let count =
                db::login_failures::count_attempt(&state.db, *scope, subject, WINDOW).await?;
            if let Some(wait) = count.refusal(scope.limit(&state.sign_in_limits)) {
                let refused = Self {
                    keys: keys[..=counted].to_vec(),
                };
                refused.uncount(state).await?;
                return Err(Error::TooManyAttempts(wait));
            }
        }
        Ok(Self { keys })
    }

    async fn uncount(&self, state: &AppState) -> Result<(), Error> {
        for (scope, subject) in &self.keys {
            db::login_failures::uncount_attempt(&state.db, *scope, subject).await?;
        }
        Ok(())
    }

    /// The account's failures are forgotten; the address's keep counting, without this one.
    async fn succeeded(&self, state: &AppState) -> Result<(), Error> {
        for (scope, subject) in &self.keys {
            match scope {
                Scope::Account => db::login_failures::clear_account(&state.db, subject).await?,
                Scope::Address => {
                    db::login_failures::uncount_attempt(&state.db, *scope, subject).await?;
                }
            }
        }
        Ok(())
    }
}
