//! `/internal/v1/stock/reservations`: holding and releasing stock for checkout.
//!
//! Called by the orders service only. `/internal` is never public: the storefront does not
//! proxy it, and the network policy lets only the storefront and orders reach catalog at
//! all (it filters ports, not paths). Orders forwards its caller's token, so any valid
//! token is accepted.

use crate::app::AppState;
use crate::db;
use crate::domain::stock::{Outcome, ReservationRequest};
use crate::error::Error;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use shop_auth::Authenticated;
use shop_server::{Json, Path, Problem};
use utoipa::ToSchema;
use uuid::Uuid;

/// An order's stock is held.
#[derive(Debug, Serialize, ToSchema)]
pub struct Reservation {
    pub order_id: Uuid,
    pub status: ReservationStatus,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReservationStatus {
    Reserved,
}

/// Holds stock for every line of an order, or for none.
///
/// Internal, for the orders service: the storefront does not expose `/internal`, and the
/// network policy lets only the storefront and orders reach catalog. Idempotent per `order_id`: a repeated call returns the recorded
/// outcome (the same 200 or 409) without touching stock again.
#[utoipa::path(
    post,
    path = "/internal/v1/stock/reservations",
    tag = "stock",
    security(("bearer" = [])),
    request_body = ReservationRequest,
    responses(
        (status = 200, description = "Every line is reserved", body = Reservation),
        (status = 401, description = "No valid token", body = Problem,
            content_type = "application/problem+json"),
        (status = 409, description = "`/problems/out-of-stock`: some products are short of \
            stock (listed in `product_ids`) and nothing was reserved; or \
            `/problems/reservation-released`: this order was released and cannot reserve again",
            body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, named in `errors` (an unknown product \
            is `items[i].product_id`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The keys that check tokens cannot be fetched right now",
            body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn reserve_stock(
    _caller: Authenticated,
    State(state): State<AppState>,
    Json(request): Json<ReservationRequest>,
) -> Result<Json<Reservation>, Error> {
    request.validate().map_err(Error::Invalid)?;
    let order_id = request.order_id;
    match db::stock::reserve(&state.db, order_id, &request.items).await? {
        Outcome::Reserved => Ok(Json(Reservation {
            order_id,
            status: ReservationStatus::Reserved,
        })),
        Outcome::Rejected { short_product_ids } => Err(Error::OutOfStock(short_product_ids)),
        Outcome::Released => Err(Error::ReservationReleased(order_id)),
    }
}

/// Returns an order's reserved stock, once.
///
/// Internal, for the orders service: the storefront does not expose `/internal`, and the
/// network policy lets only the storefront and orders reach catalog. Idempotent: releasing again, or releasing a rejected reservation,
/// returns nothing more. Releasing an order that never reserved records it as released,
/// so a reservation arriving after its own compensation cannot take stock.
#[utoipa::path(
    delete,
    path = "/internal/v1/stock/reservations/{order_id}",
    tag = "stock",
    security(("bearer" = [])),
    params(("order_id" = Uuid, Path, description = "The order whose stock to release")),
    responses(
        (status = 204, description = "Nothing of this order's stock is held any more"),
        (status = 401, description = "No valid token", body = Problem,
            content_type = "application/problem+json"),
        (status = 422, description = "The order id is not a UUID", body = Problem,
            content_type = "application/problem+json"),
        (status = 503, description = "The keys that check tokens cannot be fetched right now",
            body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn release_stock(
    _caller: Authenticated,
    State(state): State<AppState>,
    Path(order_id): Path<Uuid>,
) -> Result<StatusCode, Error> {
    db::stock::release(&state.db, order_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
