//! HTTP handlers of the orders service.

mod orders;

use crate::app::AppState;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(tags((name = "orders", description = "Checkout and order history")))]
struct ApiDoc;

pub fn router() -> OpenApiRouter<AppState> {
    let mut router = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(orders::place_order, orders::list_orders))
        .routes(routes!(orders::get_order))
        .routes(routes!(orders::cancel_order));
    shop_auth::openapi::add_bearer_scheme(router.get_openapi_mut());
    router
}
