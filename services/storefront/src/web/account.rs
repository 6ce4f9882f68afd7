//! Register, log in, log out: the forms, and the session cookie written or cleared.
//!
//! What is asked of the users service (the account, the token, its revocation) is in
//! `crate::actions::account`; this module turns its answers into cookies, redirects and
//! pages.

use crate::actions::account;
use crate::app::AppState;
use crate::forward::forwarded_for;
use crate::web::form::Form;
use crate::web::layout::{csrf_field, page};
use crate::web::session::{self, SESSION_COOKIE, Session};
use crate::web::{PageError, SESSION_MAX_AGE_SECONDS, Visitor};
use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use http::header::SET_COOKIE;
use http::{Extensions, HeaderMap, HeaderValue, Method, StatusCode};
use maud::{Markup, html};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
pub struct Registration {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct SignIn {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub async fn register_form(Extension(visitor): Extension<Visitor>) -> Markup {
    register_page(&visitor, &Registration::default(), &[])
}

pub async fn login_form(Extension(visitor): Extension<Visitor>) -> Markup {
    login_page(&visitor, "", &[])
}

fn errors_box(errors: &[String]) -> Markup {
    html! {
        @if !errors.is_empty() {
            div.errors role="alert" {
                p { "Please check the form:" }
                ul { @for error in errors { li { (error) } } }
            }
        }
    }
}

fn register_page(visitor: &Visitor, filled: &Registration, errors: &[String]) -> Markup {
    page(
        "Register",
        visitor.chrome(),
        html! {
            div.narrow {
                h1 { "Create an account" }
                (errors_box(errors))
                form method="post" action="/register" {
                    (csrf_field(&visitor.session))
                    div.field {
                        label for="name" { "Name" }
                        input #name name="name" autocomplete="name" required value=(filled.name);
                    }
                    div.field {
                        label for="email" { "Email" }
                        input #email type="email" name="email" autocomplete="email" required value=(filled.email);
                    }
                    div.field {
                        label for="password" { "Password (at least 8 characters)" }
                        input #password type="password" name="password" autocomplete="new-password" required minlength="8";
                    }
                    button type="submit" { "Register" }
                }
                p { "Have an account? " a href="/login" { "Log in" } }
            }
        },
    )
}

fn login_page(visitor: &Visitor, email: &str, errors: &[String]) -> Markup {
    page(
        "Log in",
        visitor.chrome(),
        html! {
            div.narrow {
                h1 { "Log in" }
                (errors_box(errors))
                form method="post" action="/login" {
                    (csrf_field(&visitor.session))
                    div.field {
                        label for="email" { "Email" }
                        input #email type="email" name="email" autocomplete="email" required value=(email);
                    }
                    div.field {
                        label for="password" { "Password" }
                        input #password type="password" name="password" autocomplete="current-password" required;
                    }
                    button type="submit" { "Log in" }
                }
                p { "New here? " a href="/register" { "Create an account" } }
            }
        },
    )
}

/// `POST /register`: creates the account, then signs in with it.
pub async fn register(
    State(state): State<AppState>,
    Extension(visitor): Extension<Visitor>,
    headers: HeaderMap,
    extensions: Extensions,
    Form(form): Form<Registration>,
) -> Result<Response, PageError> {
    let created = account::register(&state, &form.name, &form.email, &form.password).await?;
    if let Err(errors) = created {
        let page = register_page(&visitor, &form, &errors);
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let client = forwarded_for(&headers, &extensions);
    match sign_in(&state, &form.email, &form.password, client).await? {
        Ok(response) => Ok(response),
        // Just registered, yet refused: show why on the login page.
        Err(errors) => Ok((
            StatusCode::UNAUTHORIZED,
            login_page(&visitor, &form.email, &errors),
        )
            .into_response()),
    }
}

/// `POST /login`.
pub async fn login(
    State(state): State<AppState>,
    Extension(visitor): Extension<Visitor>,
    headers: HeaderMap,
    extensions: Extensions,
    Form(form): Form<SignIn>,
) -> Result<Response, PageError> {
    let client = forwarded_for(&headers, &extensions);
    match sign_in(&state, &form.email, &form.password, client).await? {
        Ok(response) => Ok(response),
        Err(errors) => Ok((
            StatusCode::UNAUTHORIZED,
            login_page(&visitor, &form.email, &errors),
        )
            .into_response()),
    }
}

/// `POST /logout`: revokes the access token with the users service, so that no copy of
/// this session's cookie is any good (see [`recheck`]), and starts a new session.
pub async fn logout(
    State(state): State<AppState>,
    Extension(visitor): Extension<Visitor>,
    Form(_): Form<serde::de::IgnoredAny>,
) -> Response {
    if let Some(signed_in) = &visitor.session.account {
        account::sign_out(&state, signed_in).await;
    }
    let cookie = state.cookies.write(
        SESSION_COOKIE,
        &Session::anonymous(),
        SESSION_MAX_AGE_SECONDS,
    );
    with_cookie(Redirect::to("/").into_response(), &cookie)
}

/// What the users service says of a signed-in session's token.
#[derive(Debug)]
pub enum Recheck {
    /// Not asked: it said the token stands less than the check interval ago.
    NotDue,
    /// The token stands: the session, with the time of this answer.
    Confirmed(Session),
    /// Signed out (revoked), or the account is gone: a new, anonymous session.
    SignedOut,
    /// No answer (the users service is down): the session as it was, asked again on
    /// the next page. Signing everyone out whenever users is down would be worse.
    Unknown,
}

/// Asks the users service whether `session`'s token still stands, when the last answer
/// is older than `SESSION_CHECK_INTERVAL_MS`: how signing out (here, on another replica,
/// or in another browser) ends every copy of the session within that interval.
pub async fn recheck(state: &AppState, session: &Session) -> Recheck {
    let Some(account) = &session.account else {
        return Recheck::NotDue;
    };
    if !account.due_for_check(state.session_check_interval) {
        return Recheck::NotDue;
    }
    let me = state
        .users
        .request(Method::GET, "/v1/users/me")
        .bearer_auth(&account.access_token);
    match state.users.send(me).await {
        Ok(_) => {
            let mut confirmed = session.clone();
            if let Some(account) = &mut confirmed.account {
                account.checked_at = session::now();
            }
            Recheck::Confirmed(confirmed)
        }
        Err(error)
            if matches!(
                error.status(),
                Some(StatusCode::UNAUTHORIZED | StatusCode::NOT_FOUND)
            ) =>
        {
            Recheck::SignedOut
        }
        Err(error) => {
            tracing::warn!(%error, "cannot check a session's token; keeping the session");
            Recheck::Unknown
        }
    }
}

/// Signs in: a redirect home with the new session cookie, or what the users service said
/// was wrong.
async fn sign_in(
    state: &AppState,
    email: &str,
    password: &str,
    client: Option<HeaderValue>,
) -> Result<Result<Response, Vec<String>>, PageError> {
    let signed_in = match account::sign_in(state, email, password, client).await? {
        Ok(signed_in) => signed_in,
        Err(errors) => return Ok(Err(errors)),
    };
    // The session lasts as long as its token.
    let cookie = state
        .cookies
        .write(SESSION_COOKIE, &signed_in.session, signed_in.lasts_seconds);
    Ok(Ok(with_cookie(Redirect::to("/").into_response(), &cookie)))
}

pub fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}
