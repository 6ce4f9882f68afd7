//! Honouring the caller's deadline.
//!
//! A caller that will stop waiting after 180 ms says so in `x-request-deadline: 180` (see
//! `shop_http::deadline`). This layer caps the request at that budget: when it passes, the
//! handler's future is dropped (its work stops at its next `.await`) and the answer is a
//! 504 `/problems/deadline-exceeded` that nobody may be waiting for any more. Either way the
//! deadline (the caller's, or this service's own request timeout) becomes current for the
//! handler, so its own calls to other services get what is left of it.

use crate::problem::Problem;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use std::time::{Duration, Instant};

pub(crate) async fn honour(own_timeout: Duration, request: Request, next: Next) -> Response {
    let now = Instant::now();
    let own = now + own_timeout;
    let Some(budget) =
        shop_http::deadline::from_headers(request.headers()).filter(|budget| now + *budget < own)
    else {
        // The service's own timeout layer answers when `own` passes.
        return shop_http::deadline::scope(own, next.run(request)).await;
    };
    let deadline = now + budget;
    let work = shop_http::deadline::scope(deadline, next.run(request));
    match tokio::time::timeout_at(deadline.into(), work).await {
        Ok(response) => response,
        Err(_) => {
            metrics::counter!("http_server_deadline_exceeded_total").increment(1);
            tracing::info!(
                budget_ms = budget.as_millis(),
                "the caller's deadline passed; work dropped"
            );
            Problem::new(
                StatusCode::GATEWAY_TIMEOUT,
                "deadline-exceeded",
                "The caller's deadline passed",
            )
            .with_detail(format!(
                "the caller allowed {} ms for this request",
                budget.as_millis()
            ))
            .into_response()
        }
    }
}
