//! `/v1/users`: registering, and reading an account.

use crate::actions::register;
use crate::app::AppState;
use crate::db;
use crate::domain::account::Account;
use crate::error::Error;
use crate::routes::SignedIn;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use shop_auth::Role;
use shop_server::{Json, Path, Problem};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// A new customer account.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    /// Unique, whatever its case.
    #[schema(example = "ada@example.com", format = "email", max_length = 254)]
    email: String,
    /// 1 to 100 characters, not all of them spaces, none a control character.
    #[schema(
        example = "Ada Lovelace",
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    name: String,
    /// 10 to 256 characters.
    #[schema(example = "correct horse battery", min_length = 10, max_length = 256)]
    password: String,
}

/// An account.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct User {
    pub id: Uuid,
    #[schema(example = "ada@example.com")]
    pub email: String,
    #[schema(example = "Ada Lovelace")]
    pub name: String,
    pub role: Role,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<Account> for User {
    fn from(account: Account) -> Self {
        Self {
            id: account.id,
            email: account.email,
            name: account.name,
            role: account.role,
            created_at: account.created_at,
        }
    }
}

/// Registers a customer account. Sign in with `POST /v1/sessions` to get a token.
#[utoipa::path(
    post,
    path = "/v1/users",
    tag = "users",
    request_body = Registration,
    responses(
        (status = 201, description = "The new account", body = User,
            headers(("Location" = String, description = "The account's URL"))),
        (status = 409, description = "`/problems/email-taken`: an account with this email \
            address, in any case, exists", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, named in `errors`", body = Problem,
            content_type = "application/problem+json"),
        (status = 503, description = "`/problems/unavailable`: every password hasher is busy \
            (a burst of sign-ups), or the database is unreachable", body = Problem,
            content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait before retrying"))),
    )
)]
pub async fn register(
    State(state): State<AppState>,
    Json(body): Json<Registration>,
) -> Result<impl IntoResponse, Error> {
    let account = register::register(&state, &body.email, &body.name, body.password).await?;
    let location = format!("/v1/users/{}", account.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(User::from(account)),
    ))
}

/// The account of the bearer of the token.
#[utoipa::path(
    get,
    path = "/v1/users/me",
    tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The signed-in account", body = User),
        (status = 401, description = "No valid token", body = Problem,
            content_type = "application/problem+json"),
        (status = 404, description = "The account no longer exists", body = Problem,
            content_type = "application/problem+json"),
    )
)]
pub async fn me(
    SignedIn(claims): SignedIn,
    State(state): State<AppState>,
) -> Result<Json<User>, Error> {
    let account = db::accounts::find(&state.db, claims.sub)
        .await?
        .ok_or(Error::AccountNotFound)?;
    Ok(Json(account.into()))
}

/// An account, for itself or an admin.
#[utoipa::path(
    get,
    path = "/v1/users/{id}",
    tag = "users",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The account's id")),
    responses(
        (status = 200, description = "The account", body = User),
        (status = 401, description = "No valid token", body = Problem,
            content_type = "application/problem+json"),
        (status = 403, description = "Another customer's account", body = Problem,
            content_type = "application/problem+json"),
        (status = 404, description = "No such account", body = Problem,
            content_type = "application/problem+json"),
        (status = 422, description = "The id is not a UUID", body = Problem,
            content_type = "application/problem+json"),
    )
)]
pub async fn get_user(
    SignedIn(claims): SignedIn,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<Json<User>, Error> {
    if claims.sub != id && !claims.is_admin() {
        return Err(Error::Forbidden);
    }
    let account = db::accounts::find(&state.db, id)
        .await?
        .ok_or(Error::AccountNotFound)?;
    Ok(Json(account.into()))
}
