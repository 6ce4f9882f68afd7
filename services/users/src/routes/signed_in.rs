//! The users service's own guard: a valid token that was not signed out.
//!
//! Every service checks a token's signature and expiry by itself (`shop_auth`); only this
//! one knows which tokens were revoked before they expired, so its routes check that too.
//! The storefront asks `/v1/users/me` about a session's token now and then: that is how
//! signing out ends a session on every storefront replica.

use crate::app::AppState;
use crate::db;
use crate::error::Error;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use shop_auth::{AuthError, Authenticated, Claims};

/// The claims of a valid, unrevoked token.
#[derive(Debug, Clone)]
pub struct SignedIn(pub Claims);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Authenticated(claims) = Authenticated::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let revoked = db::revoked_tokens::is_revoked(&state.db, claims.jti)
            .await
            .map_err(|error| Error::from(error).into_response())?;
        if revoked {
            return Err(AuthError::Revoked.into_response());
        }
        Ok(Self(claims))
    }
}

/// The claims of a valid, unrevoked token of an admin.
#[derive(Debug, Clone)]
pub struct SignedInAdmin(pub Claims);

impl FromRequestParts<AppState> for SignedInAdmin {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let SignedIn(claims) = SignedIn::from_request_parts(parts, state).await?;
        if !claims.is_admin() {
            return Err(AuthError::Forbidden.into_response());
        }
        Ok(Self(claims))
    }
}
