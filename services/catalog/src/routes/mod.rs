//! HTTP handlers of the catalog service, one module per resource.

mod categories;
mod products;

use crate::app::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    let mut router = OpenApiRouter::new()
        .routes(routes!(categories::list_categories))
        .routes(routes!(products::list_products, products::create_product))
        .routes(routes!(
            products::get_product,
            products::replace_product,
            products::delete_product
        ));
    shop_auth::openapi::add_bearer_scheme(router.get_openapi_mut());
    router
}
