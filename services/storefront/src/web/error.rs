//! What a page answers when it cannot show what was asked: an HTML page, never a cause.

use axum::response::{IntoResponse, Redirect, Response};
use http::StatusCode;
use maud::{DOCTYPE, html};
use shop_http::CallError;

#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error(transparent)]
    Upstream(#[from] CallError),
    /// An upstream answered something the page cannot read: a bug of ours or theirs.
    #[error("unreadable upstream answer: {0}")]
    BadUpstreamAnswer(String),
    #[error("not found")]
    NotFound,
    /// A form post without this session's CSRF token.
    #[error("the form's CSRF token is missing or wrong")]
    Csrf,
    #[error("malformed form: {0}")]
    BadForm(String),
    /// The page needs a signed-in customer (or the token expired): off to the login page.
    #[error("sign-in needed")]
    SignIn,
}

impl From<crate::error::Error> for PageError {
    fn from(error: crate::error::Error) -> Self {
        match error {
            crate::error::Error::Upstream(error) => Self::Upstream(error),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, title, detail) = match &self {
            Self::Upstream(error) => {
                tracing::warn!(%error, "a page's upstream call failed");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Part of the shop is unavailable",
                    format!(
                        "The {} service cannot answer right now. Please try again in a moment.",
                        error.service()
                    ),
                )
            }
            Self::BadUpstreamAnswer(reason) => {
                tracing::error!(%reason, "a page could not read an upstream answer");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "We could not show this page. Please try again later.".to_owned(),
                )
            }
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                "Not found",
                "There is nothing here. It may have been removed.".to_owned(),
            ),
            Self::Csrf => (
                StatusCode::FORBIDDEN,
                "This form has expired",
                "Please go back, reload the page and send the form again.".to_owned(),
            ),
            Self::BadForm(reason) => {
                tracing::info!(%reason, "malformed form");
                (
                    StatusCode::BAD_REQUEST,
                    "This form could not be read",
                    "Please go back and check what you entered.".to_owned(),
                )
            }
            Self::SignIn => return Redirect::to("/login").into_response(),
        };
        let page = html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (title) " · Harbor Shop" }
                    link rel="stylesheet" href="/assets/shop.css";
                }
                body {
                    main #main.narrow {
                        h1 { (title) }
                        p { (detail) }
                        p { a href="/" { "Back to the shop" } }
                    }
                }
            }
        };
        (status, page).into_response()
    }
}

/// An upstream's 401 means the access token is no good (expired): sign in again.
pub fn signed_out_on_401(error: CallError) -> PageError {
    match error.status() {
        Some(StatusCode::UNAUTHORIZED) => PageError::SignIn,
        Some(StatusCode::NOT_FOUND) => PageError::NotFound,
        _ => PageError::Upstream(error),
    }
}
