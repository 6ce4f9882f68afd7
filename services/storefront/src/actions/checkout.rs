//! Checkout: the cart's order, placed with orders.

use crate::app::AppState;
use crate::web::PageError;
use crate::web::error::signed_out_on_401;
use crate::web::session::{Account, Cart};
use http::Method;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

#[derive(Debug, Deserialize)]
struct Placed {
    id: Uuid,
}

/// Places `cart`'s order for `account` under the cart's idempotency key, so that a checkout
/// sent twice (a double click, a retry) is one order; returns the order's id.
pub async fn place_order(
    state: &AppState,
    account: &Account,
    cart: &Cart,
) -> Result<Uuid, PageError> {
    let items: Vec<_> = cart
        .lines
        .iter()
        .map(|l| json!({ "product_id": l.product_id, "quantity": l.quantity }))
        .collect();
    let request = state
        .orders
        .request(Method::POST, "/v1/orders")
        .bearer_auth(&account.access_token)
        .header("idempotency-key", cart.checkout_key.to_string())
        .json(&json!({ "items": items }));
    let placed: Placed = state
        .orders
        .send(request)
        .await
        .map_err(signed_out_on_401)?
        .json()
        .await
        .map_err(|error| PageError::BadUpstreamAnswer(error.to_string()))?;
    Ok(placed.id)
}
