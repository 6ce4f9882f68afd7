//! HTTP handlers of the recommendations service.

mod recommendations;

use crate::app::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    let mut router = OpenApiRouter::new().routes(routes!(recommendations::recommend));
    shop_auth::openapi::add_bearer_scheme(router.get_openapi_mut());
    router
}
