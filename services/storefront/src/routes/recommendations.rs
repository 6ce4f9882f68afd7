//! Recommendations, through the storefront.

use crate::app::AppState;
use crate::error::Error;
use crate::forward::{Incoming, PassThroughErrors};
use axum::extract::State;
use axum::response::Response;
use http::Method;

/// Products to recommend: the recommendations service's `GET /v1/recommendations`, with
/// the same query (`user_id` needs that user's token).
#[utoipa::path(get, path = "/api/recommendations", tag = "recommendations",
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The recommendations service's answer", body = serde_json::Value),
        PassThroughErrors,
    ))]
pub async fn recommendations(
    State(state): State<AppState>,
    incoming: Incoming,
) -> Result<Response, Error> {
    incoming
        .forward(&state.recommendations, Method::GET, "/v1/recommendations")
        .await
}
