//! `/v1/orders`: placing, reading and cancelling orders.

use crate::app::AppState;
use crate::db::{self, Inserted, NewOrder};
use crate::domain::order::{Order, OrderStatus};
use crate::domain::placing::{self, CatalogProduct, PlaceOrder};
use crate::error::OrdersError;
use crate::events;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use shop_api::{Page, PageQuery};
use shop_auth::{Authenticated, Claims, Role};
use shop_events::outbox;
use shop_server::{Json, Path, Problem, Query};
use std::collections::HashMap;
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
    request.validate()?;
    let fingerprint = request.fingerprint();

    // A retry: answer with what the first request created, without pricing it again.
    let mut conn = state.db.acquire().await?;
    if let Some((order, original)) =
        db::find_by_idempotency_key(&mut conn, claims.sub, &key).await?
    {
        return replay(order, &original, &fingerprint);
    }
    let products = current_prices(&state, &mut conn, &request).await?;
    drop(conn);
    let (lines, total) = placing::price(&request, &products)?;

    let new = NewOrder {
        id: Uuid::now_v7(),
        user_id: claims.sub,
        idempotency_key: &key,
        request_fingerprint: &fingerprint,
        lines: &lines,
        total: &total,
    };
    let announcement = events::placed(&new);
    match db::insert_order(&state.db, new, &announcement).await? {
        Inserted::Existing(order, original) => replay(order, &original, &fingerprint),
        Inserted::Created(order) => {
            tracing::info!(order_id = %order.id, total = %order.total, "order placed");
            Ok(accepted(order, false))
        }
    }
}

/// The price of every product in `request`: from the replica of catalog's events, and from
/// catalog itself for products the replica has not heard of yet. While catalog is down,
/// orders for known products are still taken.
async fn current_prices(
    state: &AppState,
    conn: &mut sqlx::PgConnection,
    request: &PlaceOrder,
) -> Result<HashMap<Uuid, CatalogProduct>, OrdersError> {
    let ids: Vec<Uuid> = request.items.iter().map(|item| item.product_id).collect();
    let mut known: HashMap<Uuid, CatalogProduct> = db::replicated_products(conn, &ids)
        .await?
        .into_iter()
        .map(|product| (product.product_id, product.into()))
        .collect();
    let unknown: Vec<Uuid> = ids
        .into_iter()
        .filter(|id| !known.contains_key(id))
        .collect();
    if !unknown.is_empty() {
        let asked = state
            .catalog
            .products(&unknown)
            .await
            .map_err(OrdersError::CatalogUnavailable)?;
        known.extend(asked);
    }
    Ok(known)
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
    // Decide on the locked row: a confirmation arriving meanwhile waits for us, or we for it.
    let mut tx = state.db.begin().await?;
    let status = db::lock_status(&mut tx, id)
        .await?
        .ok_or(OrdersError::NotFound(id))?;
    if !status.can_cancel() {
        return Err(OrdersError::NotCancellable(status));
    }
    db::set_status(
        &mut tx,
        id,
        OrderStatus::Cancelled,
        Some("cancelled by the customer"),
    )
    .await?;
    let order = db::get_order(&mut tx, id)
        .await?
        .ok_or(OrdersError::NotFound(id))?;
    // Catalog returns the stock of a confirmed order, and makes sure a pending one's is
    // never taken, when it reads this.
    let announcement = events::cancelled(&order, status == OrderStatus::Confirmed);
    outbox::enqueue(&mut tx, &announcement).await?;
    tx.commit().await?;
    tracing::info!(order_id = %id, was = %status, "order cancelled");
    Ok(Json(order))
}

/// The order, if the caller may see it: its owner or an admin.
async fn owned_order(state: &AppState, claims: &Claims, id: Uuid) -> Result<Order, OrdersError> {
    let mut conn = state.db.acquire().await?;
    match db::get_order(&mut conn, id).await? {
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
    let raw = headers
        .get(IDEMPOTENCY_KEY)
        .map(|value| value.to_str())
        .transpose()
        .map_err(|_| Problem::invalid_field("Idempotency-Key", "must be visible ASCII"))?
        .unwrap_or_default();
    // The length as sent, as the contract's `maxLength` counts it.
    let key = raw.trim();
    if key.is_empty() || raw.len() > 255 {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "idempotency-key-required",
            "Idempotency-Key required",
        )
        .with_detail("send an Idempotency-Key header of 1 to 255 characters, unique per order"));
    }
    Ok(key.to_owned())
}
