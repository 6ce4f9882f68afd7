//! `/ops/…`: what an operator asks a running service about its own resilience.

/// `GET /ops/dependencies`: each client's circuit breaker state and counts (see
/// `shop_http::dependencies`).
pub(crate) async fn dependencies() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "dependencies": shop_http::dependencies() }))
}
