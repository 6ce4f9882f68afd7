//! The web shop: server-rendered pages (maud), outside the JSON contract.
//!
//! Every page works without JavaScript. Around every page: the visitor's session from its
//! signed cookie (a new one for a new visitor), and the security headers (a strict
//! Content-Security-Policy: only this origin's styles and images, no script at all).
//! Every form post carries the session's CSRF token, checked by [`form::Form`].

mod account;
mod assets;
pub mod catalog;
pub(crate) mod error;
mod form;
mod layout;
mod ops;
mod orders;
pub mod session;
mod shop;

use crate::app::AppState;
use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::IntoResponse;
use axum::response::Response;
use axum::routing::{get, post};
use http::header::{
    ACCEPT, CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, SET_COOKIE,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use http::{HeaderMap, HeaderValue, Uri};
use session::{Cart, Session};
use shop_server::Problem;

pub use error::PageError;

/// How long an anonymous visitor's session and cart last (a signed-in session lasts as
/// long as its token).
pub const SESSION_MAX_AGE_SECONDS: u64 = 7 * 24 * 3600;

/// No script, no plug-in, no frame; styles, images and form targets of this origin only.
const CONTENT_SECURITY_POLICY_VALUE: &str = "default-src 'none'; style-src 'self'; \
    img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Who is looking at a page: their session and cart, as their cookies say.
#[derive(Debug, Clone)]
pub struct Visitor {
    pub session: Session,
    pub cart: Cart,
}

impl Visitor {
    pub fn chrome(&self) -> layout::Chrome<'_> {
        layout::Chrome {
            session: &self.session,
            cart_count: self.cart.count(),
        }
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(shop::home))
        .route("/search", get(shop::search))
        .route("/categories/{slug}", get(shop::category))
        .route("/products/{id}", get(shop::product))
        .route("/images/products/{file}", get(assets::product_image))
        .route("/assets/shop.css", get(assets::stylesheet))
        .route("/assets/favicon.svg", get(assets::favicon))
        .route(
            "/register",
            get(account::register_form).post(account::register),
        )
        .route("/login", get(account::login_form).post(account::login))
        .route("/logout", post(account::logout))
        .route("/cart", get(orders::cart))
        .route("/cart/add", post(orders::add))
        .route("/cart/update", post(orders::update))
        .route("/checkout", post(orders::checkout))
        .route("/orders", get(orders::history))
        .route("/orders/{id}", get(orders::order))
        .route("/ops", get(ops::panel))
        .route("/ops/trace", get(ops::trace))
        .route("/ops/faults/{service}", post(ops::inject))
        .route("/ops/faults/{service}/clear", post(ops::clear))
        .layer(axum::middleware::from_fn_with_state(state.clone(), visit))
        .with_state(state)
}

/// What answers a path the shop has no page for: a browser (asking for HTML) gets the
/// Not found page, with the cookies and security headers of every page; an API client,
/// and anything under `/api/`, the JSON problem.
pub fn not_found(state: AppState) -> Router {
    Router::new()
        .fallback(not_found_answer)
        .layer(axum::middleware::from_fn_with_state(state.clone(), visit))
        .with_state(state)
}

async fn not_found_answer(uri: Uri, headers: HeaderMap) -> Response {
    let wants_html = headers
        .get(ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if wants_html && !uri.path().starts_with("/api/") {
        PageError::NotFound.into_response()
    } else {
        Problem::not_found(format!("no route for {}", uri.path())).into_response()
    }
}

/// Reads the visitor's cookies for the handler, gives a new visitor a session, and adds the
/// security headers to the answer.
async fn visit(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let jar = &state.cookies;
    let existing: Option<Session> = jar.read(request.headers(), session::SESSION_COOKIE);
    let fresh = existing.is_none();
    let session = existing.unwrap_or_else(Session::anonymous);
    // A signed-in session whose token was revoked ends here; a confirmed one is rewritten
    // with the time of the answer.
    let (session, changed) = match account::recheck(&state, &session).await {
        account::Recheck::NotDue | account::Recheck::Unknown => (session, false),
        account::Recheck::Confirmed(confirmed) => (confirmed, true),
        account::Recheck::SignedOut => (Session::anonymous(), true),
    };
    let cart = jar
        .read(request.headers(), session::CART_COOKIE)
        .unwrap_or_default();
    request.extensions_mut().insert(Visitor {
        session: session.clone(),
        cart,
    });

    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let sets_session = headers.get_all(SET_COOKIE).iter().any(|value| {
        value
            .as_bytes()
            .starts_with(session::SESSION_COOKIE.as_bytes())
    });
    if (fresh || changed) && !sets_session {
        let max_age = session
            .account
            .as_ref()
            .map_or(SESSION_MAX_AGE_SECONDS, session::Account::seconds_left);
        let cookie = jar.write(session::SESSION_COOKIE, &session, max_age);
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            headers.append(SET_COOKIE, value);
        }
    }
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY_VALUE),
    );
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    // Pages show a visitor's own session: no shared cache keeps them. Assets set their own.
    if !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
