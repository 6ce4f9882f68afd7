//! HTTP handlers of the storefront: `/api/…` passes each call on to the service that owns
//! it (see `forward`), for the browser's scripts. The web pages are outside the contract.

mod catalog;
mod contract;
pub mod home;
mod orders;
mod recommendations;
mod users;

use crate::app::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    let mut router = OpenApiRouter::new()
        .routes(routes!(catalog::categories))
        .routes(routes!(catalog::products))
        .routes(routes!(catalog::product))
        .routes(routes!(users::register))
        .routes(routes!(users::sign_in))
        .routes(routes!(users::me))
        .routes(routes!(orders::place, orders::list))
        .routes(routes!(orders::get))
        .routes(routes!(orders::cancel))
        .routes(routes!(recommendations::recommendations))
        .routes(routes!(home::home));
    shop_auth::openapi::add_bearer_scheme(router.get_openapi_mut());
    // The owners' committed contracts are part of this build: the test in `contract`
    // fails if one cannot be adopted, so the fallback below is never what ships.
    match contract::adopt_owners(router.get_openapi()) {
        Ok(adopted) => *router.get_openapi_mut() = adopted,
        Err(error) => tracing::error!(%error, "the /api contract names no owner's schemas"),
    }
    router
}
