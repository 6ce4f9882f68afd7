//! HTTP handlers of the users service, one module per resource.

mod jwks;
mod sessions;
pub(crate) mod signed_in;
mod signing_keys;
mod users;

pub use signed_in::SignedIn;

use crate::app::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    let mut router = OpenApiRouter::new()
        .routes(routes!(users::register))
        .routes(routes!(users::me))
        .routes(routes!(users::get_user))
        .routes(routes!(sessions::sign_in))
        .routes(routes!(sessions::sign_out))
        .routes(routes!(jwks::jwks))
        .routes(routes!(signing_keys::rotate));
    shop_auth::openapi::add_bearer_scheme(router.get_openapi_mut());
    router
}
