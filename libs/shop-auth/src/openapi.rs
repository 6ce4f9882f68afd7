//! Describing bearer authentication in a service's OpenAPI document.
//!
//! Register the scheme once on the service's router, then name it on each guarded route:
//!
//! ```ignore
//! let mut router = OpenApiRouter::new().routes(routes!(me));
//! shop_auth::openapi::add_bearer_scheme(router.get_openapi_mut());
//!
//! #[utoipa::path(get, path = "/v1/users/me", security(("bearer" = [])), ...)]
//! ```

use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

/// The name routes use in `security((BEARER = []))`.
pub const BEARER: &str = "bearer";

/// Adds the `bearer` security scheme (a JWT from the users service) to `doc`.
pub fn add_bearer_scheme(doc: &mut OpenApi) {
    let scheme = HttpBuilder::new()
        .scheme(HttpAuthScheme::Bearer)
        .bearer_format("JWT")
        .description(Some(
            "An access token from `POST /v1/sessions` of the users service",
        ))
        .build();
    doc.components
        .get_or_insert_with(Default::default)
        .add_security_scheme(BEARER, SecurityScheme::Http(scheme));
}
