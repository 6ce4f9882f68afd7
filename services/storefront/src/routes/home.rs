//! `GET /api/home`: the home page's data in one call.

use crate::app::AppState;
use crate::domain::home::{Home, RankingVersion, Recommendations};
use crate::error::Error;
use crate::forward::PassThroughErrors;
use axum::extract::State;
use shop_server::Json;
use std::time::Instant;

/// How many products the home page recommends, and lists.
const RECOMMENDED: usize = 8;
const LISTED: usize = 12;

/// The catalog's first page of products, which the home page lists and falls back on.
fn first_page_path() -> String {
    format!("/v1/products?page=1&per_page={LISTED}")
}

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
    // A deadline of its own for this one call: the client gives it what is left minus the
    // margin (130 ms), which the margin leaves for the fallback.
    let recommendations_deadline = Instant::now() + state.recommendations_budget;
    let products_path = first_page_path();
    let (recommended, products) = tokio::join!(
        shop_http::deadline::scope(
            recommendations_deadline,
            fetch(state, &recommendations_path),
        ),
        state.catalog.get_json::<serde_json::Value>(&products_path),
    );
    let products = products?;
    let (recommendations, version) = recommended.unwrap_or_else(|error| {
        tracing::warn!(%error, "recommendations unavailable, answering a fallback");
        let fallback = state.popular.fallback(&products, RECOMMENDED);
        (fallback, RankingVersion::Fallback)
    });
    served(state, &recommendations, version);
    Ok(Home {
        recommendations,
        products,
    })
}

/// Without the recommendations service: the cached popular list, else the newest products
/// of the catalog's first page (none if the catalog fails too), at most `limit`.
pub async fn fallback(state: &AppState, limit: usize) -> Recommendations {
    if let Some(cached) = state.popular.cached(limit) {
        return cached;
    }
    let products = state
        .catalog
        .get_json::<serde_json::Value>(&first_page_path())
        .await
        .unwrap_or_else(|error| {
            tracing::warn!(%error, "no catalog for the recommendations fallback either");
            serde_json::Value::Null
        });
    state.popular.fallback(&products, limit)
}

/// `GET path` of the recommendations service: its answer and the version that gave it.
async fn fetch(
    state: &AppState,
    path: &str,
) -> Result<(Recommendations, RankingVersion), shop_http::CallError> {
    let (recommendations, headers) = state.recommendations.get_json_with_headers(path).await?;
    Ok((recommendations, RankingVersion::from_headers(&headers)))
}

/// Books recommendations being served: a popular list is kept for the fallback, the
/// ops panel and `storefront_recommendations_served_total` count the source and the
/// version of the ranking that served them.
pub fn served(state: &AppState, recommendations: &Recommendations, version: RankingVersion) {
    state.popular.remember(recommendations);
    state.recent_sources.record(recommendations.source, version);
    metrics::counter!(
        "storefront_recommendations_served_total",
        "source" => recommendations.source.as_str(),
        "version" => version.as_str(),
    )
    .increment(1);
}
