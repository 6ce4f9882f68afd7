//! `/v1/orders`: placing, reading and cancelling orders.

use crate::app::AppState;
use crate::checkout;
use crate::db::{self, Inserted, NewOrder};
use crate::domain::order::{Order, OrderStatus};
use crate::domain::placing::{self, PlaceOrder};
use crate::error::OrdersError;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use shop_api::{Page, PageQuery};
use shop_auth::{Authenticated, Claims, Role};
use shop_server::{Json, Path, Problem, Query};
use uuid::Uuid;

const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Place an order.
///
/// Answers `202 pending` at once; the order becomes `confirmed` when catalog has reserved
/// its stock, or `rejected` when it could not. Prices come from catalog, never from the
/// client. Repeating the request with the same `Idempotency-Key` returns the same order
/// and creates nothing (`Idempotent-Replayed: true`).
#[utoipa::path(post, path = "/v1/orders", tag = "orders",
    params(("Idempotency-Key" = String, Header, description = "A unique key per order the client means to place (1 to 255 characters), reused on retries")),
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
    request.validate()?;
    let fingerprint = request.fingerprint();

    // A retry: answer with what the first request created, without asking catalog again.
    if let Some((order, original)) =
        db::find_by_idempotency_key(&state.db, claims.sub, &key).await?
    {
        return replay(order, &original, &fingerprint);
    }

    let ids: Vec<Uuid> = request.items.iter().map(|item| item.product_id).collect();
    let products = state
        .catalog
        .products(&ids)
        .await
        .map_err(OrdersError::CatalogUnavailable)?;
    let (lines, total) = placing::price(&request, &products)?;

    let new = NewOrder {
        id: Uuid::now_v7(),
        user_id: claims.sub,
        idempotency_key: &key,
        request_fingerprint: &fingerprint,
        lines: &lines,
        total: &total,
    };
    match db::insert_order(&state.db, new).await? {
        Inserted::Existing(order, original) => replay(order, &original, &fingerprint),
        Inserted::Created(order) => {
            tracing::info!(order_id = %order.id, total = %order.total, "order placed");
            let bearer = bearer_token(&headers).unwrap_or_default();
            checkout::confirm_in_background(state, bearer, order.id, lines);
            Ok(accepted(order, false))
        }
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
        .map_err(|(field, message)| Problem::invalid_field(field, message))?;
    let (orders, total) = db::list_orders(&state.db, claims.sub, page).await?;
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
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> Result<Json<Order>, OrdersError> {
    let order = owned_order(&state, &claims, id).await?;
    if !order.status.can_cancel() {
        return Err(OrdersError::NotCancellable(order.status));
    }
    let cancelled = db::transition(
        &state.db,
        id,
        &[OrderStatus::Pending, OrderStatus::Confirmed],
        OrderStatus::Cancelled,
        Some("cancelled by the customer"),
    )
    .await?;
    if !cancelled {
        // It became final between our read and our update.
        let now = db::get_order(&state.db, id)
            .await?
            .ok_or(OrdersError::NotFound(id))?;
        return Err(OrdersError::NotCancellable(now.status));
    }
    // Release whatever was reserved (nothing, for a pending order: releasing is idempotent).
    // Should catalog be down, the reservation stays until the events saga reconciles it.
    let bearer = bearer_token(&headers).unwrap_or_default();
    if let Err(error) = state.catalog.release(&bearer, id).await {
        tracing::warn!(%error, order_id = %id, "stock not released yet");
    }
    let order = db::get_order(&state.db, id)
        .await?
        .ok_or(OrdersError::NotFound(id))?;
    Ok(Json(order))
}

/// The order, if the caller may see it: its owner or an admin.
async fn owned_order(state: &AppState, claims: &Claims, id: Uuid) -> Result<Order, OrdersError> {
    match db::get_order(&state.db, id).await? {
        Some(order) if order.user_id == claims.sub || claims.role == Role::Admin => Ok(order),
        _ => Err(OrdersError::NotFound(id)),
    }
}

fn replay(order: Order, original: &str, fingerprint: &str) -> Result<Response, OrdersError> {
    if original != fingerprint {
        return Err(OrdersError::IdempotencyKeyReused);
    }
    Ok(accepted(order, true))
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

fn idempotency_key(headers: &HeaderMap) -> Result<String, Problem> {
    let key = headers
        .get(IDEMPOTENCY_KEY)
        .map(|value| value.to_str().map(str::trim))
        .transpose()
        .map_err(|_| Problem::invalid_field("Idempotency-Key", "must be visible ASCII"))?
        .unwrap_or_default();
    if key.is_empty() || key.len() > 255 {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "idempotency-key-required",
            "Idempotency-Key required",
        )
        .with_detail("send an Idempotency-Key header of 1 to 255 characters, unique per order"));
    }
    Ok(key.to_owned())
}

fn bearer_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::to_owned)
}
