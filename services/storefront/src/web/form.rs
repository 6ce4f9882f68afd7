//! `Form<T>`: a form post, accepted only with the session's CSRF token.
//!
//! Every form of the shop carries a hidden `csrf` field (`layout::csrf_field`) with the
//! token of the visitor's session (a synchronizer token, kept in the signed session
//! cookie). Another site can make a browser post to us, cookies included where SameSite
//! allows, but cannot read our pages to learn the token.

use crate::web::{PageError, Visitor};
use axum::extract::{FromRequest, Request};
use bytes::Bytes;
use serde::de::DeserializeOwned;

/// The fields of a posted form, after its CSRF token was checked.
#[derive(Debug)]
pub struct Form<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Form<T> {
    type Rejection = PageError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let visitor = request
            .extensions()
            .get::<Visitor>()
            .cloned()
            .ok_or(PageError::Csrf)?;
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| PageError::BadForm(rejection.body_text()))?;
        let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
            .map_err(|error| PageError::BadForm(error.to_string()))?;
        let token = fields
            .iter()
            .find(|(name, _)| name == "csrf")
            .map(|(_, value)| value.as_str())
            .unwrap_or_default();
        if !visitor.session.accepts(token) {
            tracing::warn!("form post refused: missing or wrong CSRF token");
            return Err(PageError::Csrf);
        }
        serde_urlencoded::from_bytes(&body)
            .map(Form)
            .map_err(|error| PageError::BadForm(error.to_string()))
    }
}
