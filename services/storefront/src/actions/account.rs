//! An account registered, a session signed in, a session's token revoked: with users.
//!
//! Users checks the password and issues the access token; the storefront keeps it in the
//! signed, HttpOnly session cookie (written by `web::account`) and sends it on as a bearer
//! token.

use crate::app::AppState;
use crate::forward::X_FORWARDED_FOR;
use crate::web::PageError;
use crate::web::session::{self, Account, Session};
use http::{HeaderValue, Method};
use serde::Deserialize;
use serde_json::json;
use shop_http::{CallError, RawResponse};

/// What users refused, as messages for the form.
pub type Refused = Vec<String>;

/// A session signed in, and how long its cookie should last: its token's lifetime.
#[derive(Debug)]
pub struct SignedIn {
    pub session: Session,
    pub lasts_seconds: u64,
}

#[derive(Debug, Deserialize)]
struct AccessToken {
    access_token: String,
    expires_in: u64,
}

#[derive(Debug, Deserialize)]
struct Me {
    id: uuid::Uuid,
    name: String,
    role: String,
}

/// Creates the account; `Ok(Err(..))` is what users refused (a taken e-mail, a weak
/// password), for the form.
pub async fn register(
    state: &AppState,
    name: &str,
    email: &str,
    password: &str,
) -> Result<Result<(), Refused>, PageError> {
    let request = state
        .users
        .request(Method::POST, "/v1/users")
        .json(&json!({ "name": name, "email": email, "password": password }));
    let answer = state.users.send_raw(request).await?;
    if !answer.status.is_success() {
        return refusal_messages(&answer).map(Err);
    }
    Ok(Ok(()))
}

/// Signs in: the new session (with the account's name and role, from users' `/v1/users/me`),
/// or what users refused. `client` is the browser's address, for users' per-address
/// throttling of failed sign-ins.
pub async fn sign_in(
    state: &AppState,
    email: &str,
    password: &str,
    client: Option<HeaderValue>,
) -> Result<Result<SignedIn, Refused>, PageError> {
    let mut request = state
        .users
        .request(Method::POST, "/v1/sessions")
        .json(&json!({ "email": email, "password": password }));
    if let Some(client) = client {
        request = request.header(X_FORWARDED_FOR, client);
    }
    let answer = state.users.send_raw(request).await?;
    if !answer.status.is_success() {
        return refusal_messages(&answer).map(Err);
    }
    let token: AccessToken = serde_json::from_slice(&answer.body)
        .map_err(|error| PageError::BadUpstreamAnswer(error.to_string()))?;
    let me: Me = state
        .users
        .send(
            state
                .users
                .request(Method::GET, "/v1/users/me")
                .bearer_auth(&token.access_token),
        )
        .await?
        .json()
        .await
        .map_err(|error| PageError::BadUpstreamAnswer(error.to_string()))?;
    let now = session::now();
    let expires_in = i64::try_from(token.expires_in)
        .map_err(|error| PageError::BadUpstreamAnswer(format!("expires_in: {error}")))?;
    let session = Session::signed_in(Account {
        id: me.id,
        name: me.name,
        role: me.role,
        access_token: token.access_token,
        expires_at: now.saturating_add(expires_in),
        checked_at: now,
    });
    Ok(Ok(SignedIn {
        session,
        lasts_seconds: token.expires_in,
    }))
}

/// Revokes `account`'s token with users, so that no copy of the session's cookie is any
/// good. When users cannot be reached the visitor still leaves (this browser forgets the
/// session), and a copy of the cookie stays good until the token expires: logged and
/// counted (`storefront_sign_out_unrevoked_total`).
pub async fn sign_out(state: &AppState, account: &Account) {
    let revoke = state
        .users
        .request(Method::DELETE, "/v1/sessions/current")
        .bearer_auth(&account.access_token);
    if let Err(error) = state.users.send(revoke).await {
        tracing::warn!(%error, "signing out: the token could not be revoked");
        metrics::counter!("storefront_sign_out_unrevoked_total").increment(1);
    }
}

/// A 4xx answer's messages for the form; anything else is the service failing.
fn refusal_messages(answer: &RawResponse) -> Result<Refused, PageError> {
    if answer.status.is_client_error() {
        Ok(Refusal::of(answer).messages())
    } else {
        Err(PageError::Upstream(CallError::Status {
            service: "users",
            status: answer.status,
            body: String::from_utf8_lossy(&answer.body).into_owned(),
        }))
    }
}

/// The part of a problem+json a form shows: its detail, and each field's message.
#[derive(Debug, Default, Deserialize)]
struct Refusal {
    #[serde(default)]
    title: String,
    #[serde(default)]
    detail: Option<String>,
    #[serde(default)]
    errors: Vec<FieldRefusal>,
}

#[derive(Debug, Deserialize)]
struct FieldRefusal {
    field: String,
    message: String,
}

impl Refusal {
    fn of(answer: &RawResponse) -> Self {
        serde_json::from_slice(&answer.body).unwrap_or_else(|_| Self {
            title: "The request was refused".to_owned(),
            ..Self::default()
        })
    }

    fn messages(&self) -> Vec<String> {
        if self.errors.is_empty() {
            vec![self.detail.clone().unwrap_or_else(|| self.title.clone())]
        } else {
            self.errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect()
        }
    }
}
