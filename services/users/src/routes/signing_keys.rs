//! `/v1/signing-keys`: rotating the keys that sign access tokens (see `tokens`).

use crate::app::AppState;
use crate::error::Error;
use crate::routes::signed_in::SignedInAdmin;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use shop_server::{Json, Problem};
use utoipa::ToSchema;

/// The key that signs from now on.
#[derive(Debug, Serialize, ToSchema)]
pub struct RotatedKey {
    /// The new key's id: the `kid` of every token signed once it is active.
    pub kid: String,
    /// Seconds until it signs: until then it is only published, so that every verifier
    /// knows it before its first token arrives.
    pub active_in_seconds: u64,
    /// Every key in the JWKS now, the new one first: the ones it replaced stay while
    /// their tokens may still be valid.
    pub published: Vec<String>,
}

/// Rotates the signing key: a new key is published now and signs every token, on every
/// instance, once `active_in_seconds` have passed (verifiers cache the JWKS for five
/// minutes); tokens signed by the keys before it stay valid until they expire.
#[utoipa::path(
    post,
    path = "/v1/signing-keys",
    tag = "keys",
    security(("bearer" = [])),
    responses(
        (status = 201, description = "A new key is published, and signs after the delay", body = RotatedKey),
        (status = 401, description = "No valid token", body = Problem,
            content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem,
            content_type = "application/problem+json"),
        (status = 409, description = "`/problems/signing-keys-configured`: the keys come \
            from the configuration (`JWT_PRIVATE_KEY_PEM`) and rotate there", body = Problem,
            content_type = "application/problem+json"),
    )
)]
pub async fn rotate(
    SignedInAdmin(_admin): SignedInAdmin,
    State(state): State<AppState>,
) -> Result<(StatusCode, Json<RotatedKey>), Error> {
    let (kid, delay) = state.tokens.rotate().await?;
    let published = state
        .tokens
        .jwks()
        .await?
        .keys
        .into_iter()
        .filter_map(|key| key.common.key_id)
        .collect();
    Ok((
        StatusCode::CREATED,
        Json(RotatedKey {
            kid,
            active_in_seconds: delay.as_secs(),
            published,
        }),
    ))
}
