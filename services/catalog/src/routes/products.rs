//! `/v1/products`: browsing and searching for everyone, editing for admins.

use crate::actions;
use crate::app::AppState;
use crate::db;
use crate::domain::product::{Product, ProductDraft};
use crate::error::Error;
use crate::read_model::Representation;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use headers::{HeaderMapExt, IfMatch};
use serde::Deserialize;
use shop_api::{Page, PageQuery};
use shop_auth::AdminOnly;
use shop_server::{FieldError, Json, Path, Problem, Query};
use utoipa::IntoParams;
use uuid::Uuid;

/// The most ids `?ids=` may list.
const MAX_IDS: usize = 100;
/// The longest search `?q=` may be.
const MAX_SEARCH_CHARS: usize = 200;

/// Filters of the product list. An empty parameter is the same as none, except `ids=`,
/// which asks for no product at all.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProductQuery {
    /// Full-text search in names and descriptions, web search style (`"cold brew" -decaf`);
    /// the best matches come first. At most 200 characters.
    #[param(example = "coffee", max_length = 200)]
    q: Option<String>,
    /// Only the products of the category with this slug. An unknown slug matches nothing:
    /// the page is empty.
    #[param(example = "coffee-tea")]
    category: Option<String>,
    /// Only these products: comma-separated ids (hyphenated, no spaces), at most 100.
    #[param(
        pattern = r"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(,[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}){0,99})?$"
    )]
    ids: Option<String>,
}

impl ProductQuery {
    fn into_filter(self) -> Result<db::products::Filter, Vec<FieldError>> {
        let mut invalid = Vec::new();
        let search = non_empty(self.q);
        if search
            .as_deref()
            .is_some_and(|q| q.chars().count() > MAX_SEARCH_CHARS)
        {
            invalid.push(FieldError::new("q", "must be at most 200 characters"));
        }
        let ids = match self.ids.as_deref().map(parse_ids).transpose() {
            Ok(ids) => ids,
            Err(message) => {
                invalid.push(FieldError::new("ids", message));
                None
            }
        };
        if !invalid.is_empty() {
            return Err(invalid);
        }
        Ok(db::products::Filter {
            search,
            category_slug: non_empty(self.category),
            ids,
        })
    }
}

fn non_empty(value: Option<String>) -> Option<String> {
    value
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// `a,b,c` into ids; an empty string is an empty list.
fn parse_ids(ids: &str) -> Result<Vec<Uuid>, &'static str> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // Exactly the contract's pattern: the hyphenated form only, no spaces.
    let ids = ids
        .split(',')
        .map(|id| match id.len() {
            36 => Uuid::try_parse(id).map_err(|_| ()),
            _ => Err(()),
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| "must be comma-separated UUIDs")?;
    if ids.len() > MAX_IDS {
        return Err("must list at most 100 ids");
    }
    Ok(ids)
}

/// Lists products: all of them by name, or those matching a search (best first), a
/// category or a list of ids.
#[utoipa::path(
    get,
    path = "/v1/products",
    tag = "products",
    params(PageQuery, ProductQuery),
    responses(
        (status = 200, description = "One page of matching products", body = Page<Product>),
        (status = 422, description = "An invalid parameter, named in `errors`", body = Problem,
            content_type = "application/problem+json"),
    )
)]
pub async fn list_products(
    State(state): State<AppState>,
    Query(page): Query<PageQuery>,
    Query(query): Query<ProductQuery>,
) -> Result<Json<Page<Product>>, Error> {
    page.validate()
        .map_err(|(field, message)| Error::invalid(field, message))?;
    let filter = query.into_filter().map_err(Error::Invalid)?;
    let (products, total) = db::products::list(&state.db, &filter, page).await?;
    Ok(Json(Page::new(products, page, total)))
}

/// One product.
#[utoipa::path(
    get,
    path = "/v1/products/{id}",
    tag = "products",
    params(
        ("id" = Uuid, Path, description = "The product's id"),
        ("If-None-Match" = Option<String>, Header,
            description = "An `ETag` this product had: `304` if it still has it"),
    ),
    responses(
        (status = 200, description = "The product. Served from the replica's memory, at most \
            a second behind the last committed change", body = Product, headers(
            ("ETag" = String, description = "This version of the product (strong)"),
            ("Cache-Control" = String, description = "`no-cache`: keep it, but revalidate \
                with `If-None-Match`"),
        )),
        (status = 304, description = "Not modified: `If-None-Match` names the current \
            `ETag`; no body", headers(
            ("ETag" = String, description = "The current version, unchanged"),
            ("Cache-Control" = String, description = "`no-cache`"),
        )),
        (status = 404, description = "No such product", body = Problem,
            content_type = "application/problem+json"),
        (status = 422, description = "The id is not a UUID", body = Problem,
            content_type = "application/problem+json"),
    )
)]
pub async fn get_product(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let product = state
        .read_model
        .product(&state.db, id)
        .await?
        .ok_or(Error::ProductNotFound(id))?;
    Ok(super::conditional(&headers, &product))
}

/// Adds a product (admins only).
#[utoipa::path(
    post,
    path = "/v1/products",
    tag = "products",
    security(("bearer" = [])),
    request_body = ProductDraft,
    responses(
        (status = 201, description = "The new product", body = Product,
            headers(("Location" = String, description = "The product's URL"))),
        (status = 401, description = "No valid token", body = Problem,
            content_type = "application/problem+json"),
        (status = 403, description = "The token is not an admin's", body = Problem,
            content_type = "application/problem+json"),
        (status = 409, description = "`/problems/sku-taken`: another product has this sku",
            body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, named in `errors` (an unknown category \
            is `category_slug`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The keys that check tokens cannot be fetched right now, \
            or `/problems/read-only`: the database refuses writes for now (see `Retry-After`); \
            reads keep working", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_product(
    _admin: AdminOnly,
    State(state): State<AppState>,
    Json(draft): Json<ProductDraft>,
) -> Result<impl IntoResponse, Error> {
    let product = actions::products::create(&state.db, &draft).await?;
    state.read_model.forget_product(product.id);
    let location = format!("/v1/products/{}", product.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(product),
    ))
}

/// Replaces every field of a product (admins only), if it is still the version the admin
/// read: `If-Match` with the `ETag` of `GET /v1/products/{id}` is required, so that stock
/// reserved by orders meanwhile is never overwritten (RFC 9110 §13.1.1, RFC 6585 §3).
#[utoipa::path(
    put,
    path = "/v1/products/{id}",
    tag = "products",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The product's id"),
        ("If-Match" = String, Header, description = "The `ETag` of the product as it was \
            read (`*`: whatever version it has now)"),
    ),
    request_body = ProductDraft,
    responses(
        (status = 200, description = "The product as it is now", body = Product,
            headers(("ETag" = String, description = "This new version of the product"))),
        (status = 401, description = "No valid token", body = Problem,
            content_type = "application/problem+json"),
        (status = 403, description = "The token is not an admin's", body = Problem,
            content_type = "application/problem+json"),
        (status = 404, description = "No such product", body = Problem,
            content_type = "application/problem+json"),
        (status = 409, description = "`/problems/sku-taken`: another product has this sku",
            body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`/problems/edit-conflict`: the product changed since \
            it was read (an order reserved stock): read it again", body = Problem,
            content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, named in `errors` (an unknown category \
            is `category_slug`)", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "`/problems/version-required`: no `If-Match`",
            body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The keys that check tokens cannot be fetched right now, \
            or `/problems/read-only`: the database refuses writes for now (see `Retry-After`); \
            reads keep working", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn replace_product(
    _admin: AdminOnly,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Json(draft): Json<ProductDraft>,
) -> Result<Response, Error> {
    // A list of tags that cannot be read matches no version: 412 below.
    let if_match = headers
        .typed_get::<IfMatch>()
        .ok_or(Error::VersionRequired)?;
    let unchanged = |current: &Product| {
        let tag = Representation::of(current)?.tag;
        if if_match.precondition_passes(&tag) {
            Ok(())
        } else {
            Err(Error::EditConflict(id))
        }
    };
    let product = actions::products::replace(&state.db, id, &draft, unchanged).await?;
    state.read_model.forget_product(id);
    let etag = Representation::of(&product)?.etag;
    Ok(([(header::ETAG, etag)], Json(product)).into_response())
}

/// Removes a product (admins only). Orders keep what they recorded of it.
#[utoipa::path(
    delete,
    path = "/v1/products/{id}",
    tag = "products",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The product's id")),
    responses(
        (status = 204, description = "The product is gone"),
        (status = 401, description = "No valid token", body = Problem,
            content_type = "application/problem+json"),
        (status = 403, description = "The token is not an admin's", body = Problem,
            content_type = "application/problem+json"),
        (status = 404, description = "No such product", body = Problem,
            content_type = "application/problem+json"),
        (status = 503, description = "The keys that check tokens cannot be fetched right now, \
            or `/problems/read-only`: the database refuses writes for now (see `Retry-After`); \
            reads keep working", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_product(
    _admin: AdminOnly,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, Error> {
    actions::products::delete(&state.db, id).await?;
    state.read_model.forget_product(id);
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_comma_separated_uuids() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        assert_eq!(parse_ids(&format!("{a},{b}")), Ok(vec![a, b]));
        assert_eq!(parse_ids(""), Ok(vec![]));
        // Exactly the contract's pattern: no spaces, only the hyphenated form.
        assert!(parse_ids(&format!("{a}, {b}")).is_err());
        assert!(parse_ids(&a.simple().to_string()).is_err());
        assert!(parse_ids(" ").is_err());
        assert!(parse_ids("nope").is_err());
        assert!(parse_ids(&format!("{a},")).is_err());
        let many = vec![a.to_string(); MAX_IDS + 1].join(",");
        assert!(parse_ids(&many).is_err());
    }
}
