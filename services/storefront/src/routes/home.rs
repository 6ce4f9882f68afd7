//! `GET /api/home`: the home page's data in one call.

use crate::app::{AppState, RECOMMENDATIONS_BUDGET};
use crate::domain::home::{Home, Recommendations};
use crate::error::Error;
use crate::forward::PassThroughErrors;
use axum::extract::State;
use shop_server::Json;
use std::time::Instant;

/// How many products the home page recommends, and lists.
const RECOMMENDED: usize = 8;
const LISTED: usize = 12;

/// The home page: recommendations and the catalog's first page of products.
///
/// Recommendations never fail the page. When the recommendations service fails, answers
/// later than its budget (150 ms) or its circuit breaker is open, `source` says which
/// fallback answered: `fallback-cache` (the last popular list the storefront saw) or
/// `fallback-catalog` (the newest products of the first page). Only the catalog being
/// unavailable makes this a 503.
#[utoipa::path(get, path = "/api/home", tag = "home",
    responses(
        (status = 200, description = "Recommendations (perhaps a fallback) and the first products",
            body = Home),
        PassThroughErrors,
    ))]
pub async fn home(State(state): State<AppState>) -> Result<Json<Home>, Error> {
    load(&state).await.map(Json)
}

/// The home page's data, for `GET /api/home` and the web shop's home page alike.
pub async fn load(state: &AppState) -> Result<Home, Error> {
    let recommendations_path = format!("/v1/recommendations?limit={RECOMMENDED}");
    let products_path = format!("/v1/products?page=1&per_page={LISTED}");
    // A deadline of its own for this one call: the client gives it what is left minus the
    // margin (130 ms), which the margin leaves for the fallback.
    let recommendations_deadline = Instant::now() + RECOMMENDATIONS_BUDGET;
    let (recommended, products) = tokio::join!(
        shop_http::deadline::scope(
            recommendations_deadline,
            state
                .recommendations
                .get_json::<Recommendations>(&recommendations_path),
        ),
        state.catalog.get_json::<serde_json::Value>(&products_path),
    );
    let products = products?;
    let recommendations = match recommended {
        Ok(answer) => {
            state.popular.remember(&answer);
            answer
        }
        Err(error) => {
            tracing::warn!(%error, "recommendations unavailable, answering a fallback");
            state.popular.fallback(&products, RECOMMENDED)
        }
    };
    state.recent_sources.record(recommendations.source);
    metrics::counter!(
        "storefront_recommendations_served_total",
        "source" => recommendations.source.as_str()
    )
    .increment(1);
    Ok(Home {
        recommendations,
        products,
    })
}
