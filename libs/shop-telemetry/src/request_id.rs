//! The id of the request being served, available to any code running inside it.
//!
//! `shop-server` sets it for each inbound request; `shop-http` copies it onto outbound
//! calls, so one `x-request-id` follows a request through every service and every log line.

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The header that carries the id between services.
pub const HEADER: &str = "x-request-id";

/// Runs `future` with `id` as the current request id.
pub async fn scope<F: std::future::Future>(id: String, future: F) -> F::Output {
    REQUEST_ID.scope(id, future).await
}

/// The current request id, if this code runs on behalf of a request.
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}
