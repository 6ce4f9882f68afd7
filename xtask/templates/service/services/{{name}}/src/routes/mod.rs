//! HTTP handlers of the {{name}} service.

mod items;

use crate::app::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    let mut router = OpenApiRouter::new()
        .routes(routes!(items::list_items))
        .routes(routes!(items::save_item, items::remove_item));
    shop_auth::openapi::add_bearer_scheme(router.get_openapi_mut());
    router
}
