//! Signing out: the token is refused from now on, here and by the storefront.

use crate::app::AppState;
use crate::db;
use crate::error::Error;
use shop_auth::Claims;

/// Revokes the token `claims` came from, until it would have expired anyway.
pub async fn sign_out(state: &AppState, claims: &Claims) -> Result<(), Error> {
    db::revoked_tokens::revoke(&state.db, claims.jti, claims.exp).await?;
    Ok(())
}
