//! Recommendations, through the storefront.

use crate::app::AppState;
use crate::domain::home::{RankingVersion, Recommendations};
use crate::error::Error;
use crate::forward::{Incoming, PassThroughErrors, pass_back};
use crate::routes::home;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::Method;
use shop_server::Json;
use std::time::Instant;

/// How many products a fallback lists when the query does not say: the recommendations
/// service's own default.
const DEFAULT_LIMIT: usize = 10;
/// The most `limit` may ask for, as the recommendations service allows.
const MAX_LIMIT: usize = 50;

/// Products to recommend: the recommendations service's `GET /v1/recommendations`, with
/// the same query (`user_id` needs that user's token).
///
/// Never fails because of recommendations: when that service fails, answers later than
/// its budget (150 ms) or its circuit breaker is open, the storefront answers a fallback
/// of its own, `source` saying which: `fallback-cache` (the last popular list it saw) or
/// `fallback-catalog` (the catalog's newest products; none if the catalog is down too).
/// What the recommendations service refuses (a bad parameter, a missing token) is passed
/// on unchanged.
#[utoipa::path(get, path = "/api/recommendations", tag = "recommendations",
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The recommendations service's answer, or the storefront's fallback",
            body = Recommendations),
        PassThroughErrors,
    ))]
pub async fn recommendations(
    State(state): State<AppState>,
    incoming: Incoming,
) -> Result<Response, Error> {
    let limit = incoming
        .query_parameter("limit")
        .and_then(|limit| limit.parse().ok())
        .filter(|limit| (1..=MAX_LIMIT).contains(limit))
        .unwrap_or(DEFAULT_LIMIT);
    let deadline = Instant::now() + state.recommendations_budget;
    let answer = shop_http::deadline::scope(
        deadline,
        incoming.send(&state.recommendations, Method::GET, "/v1/recommendations"),
    )
    .await;
    let failure = match answer {
        Ok(answer) if answer.status.is_client_error() => return Ok(pass_back(answer)),
        Ok(answer) if answer.status.is_success() => {
            // Passed on as it came; counted (and kept for the fallback) when it reads as
            // recommendations.
            if let Ok(recommendations) = serde_json::from_slice::<Recommendations>(&answer.body) {
                let version = RankingVersion::from_headers(&answer.headers);
                home::served(&state, &recommendations, version);
            }
            return Ok(pass_back(answer));
        }
        Ok(answer) => format!("status {}", answer.status),
        Err(error) => error.to_string(),
    };
    tracing::warn!(%failure, "recommendations unavailable, answering a fallback");
    let fallback = home::fallback(&state, limit).await;
    home::served(&state, &fallback, RankingVersion::Fallback);
    Ok(Json(fallback).into_response())
}
