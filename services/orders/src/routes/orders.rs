//! `/v1/orders`: placing, reading and cancelling orders.

//!
//! Adapters only: each handler reads the request, calls its action (`crate::actions`) and
//! writes the answer.

use crate::actions::cancel;
use crate::actions::place::{self, Placed};
use crate::app::AppState;
use crate::db;
use crate::domain::order::Order;
use crate::domain::placing::PlaceOrder;
use crate::error::OrdersError;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use shop_api::{Page, PageQuery};
use shop_auth::{Authenticated, Claims, Role};
use shop_server::{FieldError, Json, Path, Problem, Query};
use uuid::Uuid;

const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Place an order.
///
/// Answers `202 pending` at once and announces `OrderPlaced`; the order becomes `confirmed`
/// when catalog has reserved its stock, or `rejected` when it could not (poll
/// `GET /v1/orders/{id}`). Prices come from catalog (through its events, or asked directly
/// for a product orders has not heard of yet), never from the client. Repeating the request with the same `Idempotency-Key` returns the same order
/// and creates nothing (`Idempotent-Replayed: true`).
#[utoipa::path(post, path = "/v1/orders", tag = "orders",
    params(("Idempotency-Key" = String, Header, min_length = 1, max_length = 255,
        pattern = "^[!-~]([ -~]*[!-~])?$",
        description = "A unique key per order the client means to place (1 to 255 visible ASCII characters), reused on retries")),
    request_body = PlaceOrder,
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Accepted: pending confirmation", body = Order),
        (status = 400, description = "Missing or invalid Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid items, unknown products, or a reused key", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Catalog unreachable", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn place_order(
    State(state): State<AppState>,
    Authenticated(claims): Authenticated,
    headers: HeaderMap,
    Json(request): Json<PlaceOrder>,
) -> Result<Response, OrdersError> {
    let key = idempotency_key(&headers)?;
    match place::place(&state.db, &state.catalog, claims.sub, &key, &request).await? {
        Placed::New(order) => Ok(accepted(order, false)),
        Placed::Replayed(order) => Ok(accepted(order, true)),
    }
}

/// The caller's orders, newest first.
#[utoipa::path(get, path = "/v1/orders", tag = "orders",
    params(PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of the caller's orders", body = Page<Order>),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid page parameters", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_orders(
    State(state): State<AppState>,
    Authenticated(claims): Authenticated,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<Order>>, OrdersError> {
    page.validate()
        .map_err(|(field, message)| OrdersError::Invalid(vec![FieldError::new(field, message)]))?;
    let mut conn = state.db.acquire().await?;
    let (orders, total) = db::list_orders(&mut conn, claims.sub, page).await?;
    Ok(Json(Page::new(orders, page, total)))
}

/// One order. Only its owner (or an admin) sees it; anyone else gets 404.
#[utoipa::path(get, path = "/v1/orders/{id}", tag = "orders",
    params(("id" = Uuid, Path, description = "The order's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The order", body = Order),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such order, or not yours", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_order(
    State(state): State<AppState>,
    Authenticated(claims): Authenticated,
    Path(id): Path<Uuid>,
) -> Result<Json<Order>, OrdersError> {
    owned_order(&state, &claims, id).await.map(Json)
}

/// Cancel an order that is pending or confirmed; a confirmed order's stock goes back.
#[utoipa::path(post, path = "/v1/orders/{id}/cancel", tag = "orders",
    params(("id" = Uuid, Path, description = "The order's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The cancelled order", body = Order),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such order, or not yours", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already rejected or cancelled", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn cancel_order(
    State(state): State<AppState>,
    Authenticated(claims): Authenticated,
    Path(id): Path<Uuid>,
) -> Result<Json<Order>, OrdersError> {
    owned_order(&state, &claims, id).await?;
    cancel::by_customer(&state.db, id).await.map(Json)
}

/// The order, if the caller may see it: its owner or an admin.
async fn owned_order(state: &AppState, claims: &Claims, id: Uuid) -> Result<Order, OrdersError> {
    let mut conn = state.db.acquire().await?;
    match db::get_order(&mut conn, id).await? {
        Some(order) if order.user_id == claims.sub || claims.role == Role::Admin => Ok(order),
        _ => Err(OrdersError::NotFound(id)),
    }
}

fn accepted(order: Order, replayed: bool) -> Response {
    let location = format!("/v1/orders/{}", order.id);
    let mut response = (StatusCode::ACCEPTED, Json(order)).into_response();
    let headers = response.headers_mut();
    if let Ok(location) = HeaderValue::from_str(&location) {
        headers.insert(header::LOCATION, location);
    }
    if replayed {
        headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}

fn idempotency_key(headers: &HeaderMap) -> Result<String, OrdersError> {
    let raw = headers
        .get(IDEMPOTENCY_KEY)
        .map(|value| value.to_str())
        .transpose()
        .map_err(|_| {
            OrdersError::Invalid(vec![FieldError::new(
                "Idempotency-Key",
                "must be visible ASCII",
            )])
        })?
        .unwrap_or_default();
    // The length as sent, as the contract's `maxLength` counts it.
    let key = raw.trim();
    if key.is_empty() || raw.len() > 255 {
        return Err(OrdersError::IdempotencyKeyMissing);
    }
    Ok(key.to_owned())
}
