//! HTTP handlers of the catalog service, one module per resource.

mod categories;
mod products;

use crate::app::AppState;
use crate::read_model::Representation;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use headers::{HeaderMapExt, IfNoneMatch};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Caches (the storefront's, a browser's, a CDN's) may keep a product or a page of
/// categories, but must ask again each time, with `If-None-Match`: the server's staleness
/// bound stays the only one, and an unchanged answer costs a `304` without a body.
const CACHE_CONTROL: HeaderValue = HeaderValue::from_static("no-cache");

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

/// `representation` as a `200` with its `ETag`, or a bodiless `304 Not Modified` when the
/// request's `If-None-Match` names that tag (weak comparison, as RFC 9110 says; an
/// unreadable `If-None-Match` is ignored).
pub fn conditional(request: &HeaderMap, representation: &Representation) -> Response {
    let not_modified = request
        .typed_get::<IfNoneMatch>()
        .is_some_and(|if_none_match| !if_none_match.precondition_passes(&representation.tag));
    let headers = [
        (header::ETAG, representation.etag.clone()),
        (header::CACHE_CONTROL, CACHE_CONTROL),
    ];
    if not_modified {
        (StatusCode::NOT_MODIFIED, headers).into_response()
    } else {
        let json = [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )];
        (headers, json, representation.body.clone()).into_response()
    }
}
