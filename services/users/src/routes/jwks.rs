//! `/.well-known/jwks.json`: the public keys that verify this service's tokens.

use crate::app::AppState;
use crate::error::Error;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;
use shop_server::Json;
use utoipa::ToSchema;

/// A JSON Web Key Set (RFC 7517).
// Describes, for the contract, the JSON of the `shop_auth::JwkSet` the handler serves.
#[derive(Serialize, ToSchema)]
pub struct Jwks {
    keys: Vec<PublicKey>,
}

/// An Ed25519 public key (RFC 8037).
#[derive(Serialize, ToSchema)]
pub struct PublicKey {
    #[schema(example = "OKP")]
    kty: String,
    #[schema(example = "Ed25519")]
    crv: String,
    /// The public key, base64url.
    x: String,
    /// The key id tokens name in their header: the key's RFC 7638 thumbprint.
    kid: String,
    #[schema(example = "EdDSA")]
    alg: String,
    #[serde(rename = "use")]
    #[schema(example = "sig")]
    key_use: String,
}

/// The keys that verify access tokens. Verifiers may cache them for five minutes, and
/// should refetch when a token names a key they do not know.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "keys",
    responses(
        (status = 200, description = "The public signing keys", body = Jwks,
            headers(("Cache-Control" = String, description = "`public, max-age=300`"))),
    )
)]
pub async fn jwks(State(state): State<AppState>) -> Result<impl IntoResponse, Error> {
    Ok((
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(state.tokens.jwks().await?),
    ))
}
