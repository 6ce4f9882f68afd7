//! Confirming or rejecting a placed order by reserving its stock in catalog.
//!
//! The API answers `202 pending` at once and confirmation happens here, in the background,
//! the way it will when the saga runs over Kafka events: a client always polls
//! `GET /v1/orders/{id}` for the outcome.

use crate::app::AppState;
use crate::catalog::Reservation;
use crate::db;
use crate::domain::order::OrderStatus;
use crate::domain::placing::PricedLine;
use tracing::Instrument;
use uuid::Uuid;

/// Starts confirming `order_id` in the background, in the current trace.
pub fn confirm_in_background(
    state: AppState,
    bearer: String,
    order_id: Uuid,
    lines: Vec<PricedLine>,
) {
    let span = tracing::info_span!("confirm order", %order_id);
    tokio::spawn(
        async move {
            if let Err(error) = confirm(&state, &bearer, order_id, &lines).await {
                // The order stays pending; the customer can cancel it.
                tracing::warn!(%error, "order left pending: confirmation failed");
            }
        }
        .instrument(span),
    );
}

async fn confirm(
    state: &AppState,
    bearer: &str,
    order_id: Uuid,
    lines: &[PricedLine],
) -> anyhow::Result<()> {
    match state.catalog.reserve(bearer, order_id, lines).await? {
        Reservation::Reserved => {
            let confirmed = db::transition(
                &state.db,
                order_id,
                &[OrderStatus::Pending],
                OrderStatus::Confirmed,
                None,
            )
            .await?;
            if !confirmed {
                // Cancelled while we were reserving: give the stock back.
                state.catalog.release(bearer, order_id).await?;
            }
            tracing::info!(confirmed, "stock reserved");
        }
        Reservation::OutOfStock(reason) => {
            db::transition(
                &state.db,
                order_id,
                &[OrderStatus::Pending],
                OrderStatus::Rejected,
                Some(&reason),
            )
            .await?;
            tracing::info!(%reason, "order rejected");
        }
    }
    Ok(())
}
