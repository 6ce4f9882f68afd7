//! The middleware every request passes through.

use crate::problem::{CONTENT_TYPE, Problem};
use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header;
use std::time::Instant;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Paths probed every few seconds: counted in metrics, but no span and no log line each.
fn is_probe(path: &str) -> bool {
    path.starts_with("/health/") || path == "/metrics"
}

/// Opens the server span (OpenTelemetry HTTP semantic conventions) as a child of the caller's
/// `traceparent`, makes the request id current, and records RED metrics per route.
pub(crate) async fn observe(
    axum::extract::State(service): axum::extract::State<shop_telemetry::ServiceInfo>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    // The route template (`/v1/products/{id}`), never the raw path: bounded label values.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|matched| matched.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let request_id = request
        .headers()
        .get(shop_telemetry::request_id::HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();

    let response = if is_probe(request.uri().path()) {
        next.run(request).await
    } else {
        // Where the client sent the request (`Host`): which service served it, even when
        // several run in one process (the integration tests) under one tracer provider.
        let (server_address, server_port) = host_of(&request);
        // Fields of the tracing span are what log lines inside it show (and each is formatted
        // as JSON when the span opens); the rest of the OpenTelemetry HTTP conventions are
        // set on the exported span only, which costs a cached read less.
        let span = tracing::info_span!(
            "HTTP request",
            otel.name = format!("{method} {route}"),
            otel.kind = "server",
            // Recorded on a server error only: recording re-formats the span's JSON fields.
            otel.status_code = tracing::field::Empty,
            http.request.method = %method,
            http.route = %route,
            request_id = %request_id,
        );
        let parent = shop_telemetry::propagation::extract_from_headers(request.headers());
        // Fails only when tracing is not initialised; the span is then simply a root.
        let _ = span.set_parent(parent);
        span.set_attribute("url.path", request.uri().path().to_owned());
        span.set_attribute("server.address", server_address);
        span.set_attribute("server.port", i64::from(server_port));
        // The resource says which service this is; the attribute also tells services apart
        // when several run in one process (integration tests).
        span.set_attribute("service.name", service.name);
        let response = shop_telemetry::request_id::scope(request_id, next.run(request))
            .instrument(span.clone())
            .await;
        let status = response.status();
        span.set_attribute("http.response.status_code", i64::from(status.as_u16()));
        if status.is_server_error() {
            span.record("otel.status_code", "ERROR");
        }
        let elapsed = started.elapsed();
        span.in_scope(|| log_finished(status, elapsed));
        response
    };

    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("http_server_requests_total", &labels).increment(1);
    metrics::histogram!("http_server_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}

/// A request taking longer than this is logged at `info` even when it succeeded.
const SLOW_REQUEST: std::time::Duration = std::time::Duration::from_millis(500);

/// The access log line. Errors and slow requests are logged at `info` (5xx at `warn`); a
/// fast success only at `debug`, as tower-http's `TraceLayer` does by default. Measured
/// (`cargo xtask bench`, docs/benchmarks-limits.md): one JSON line per cached product read
/// cost about a third of the catalog's throughput, while the server span (traces) and the
/// RED metrics already record every request. `RUST_LOG=info,shop_server=debug` logs them all.
fn log_finished(status: http::StatusCode, elapsed: std::time::Duration) {
    let status_code = status.as_u16();
    let elapsed_ms = elapsed.as_secs_f64() * 1000.0;
    if status.is_server_error() {
        tracing::warn!(status = status_code, elapsed_ms, "request finished");
    } else if status.is_client_error() || elapsed >= SLOW_REQUEST {
        tracing::info!(status = status_code, elapsed_ms, "request finished");
    } else {
        tracing::debug!(status = status_code, elapsed_ms, "request finished");
    }
}

/// `server.address` and `server.port` from the `Host` header (HTTP semantic conventions),
/// the port defaulting to 80.
fn host_of(request: &Request) -> (String, u16) {
    let authority = request
        .headers()
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .and_then(|host| host.parse::<http::uri::Authority>().ok())
        .or_else(|| request.uri().authority().cloned());
    match authority {
        Some(authority) => (
            authority.host().to_owned(),
            authority.port_u16().unwrap_or(80),
        ),
        None => (String::new(), 0),
    }
}

/// On the public address of a service with an admin listener: the operator's paths are
/// not here (404, as for any path no route has), whatever the router behind would answer.
pub(crate) async fn hide_admin_paths(request: Request, next: Next) -> Response {
    if crate::service::is_admin_path(request.uri().path()) {
        return Problem::not_found(format!("no route for {}", request.uri().path()))
            .into_response();
    }
    next.run(request).await
}

/// Gives an RFC 9457 body to error responses that middleware produced without one
/// (timeout, method not allowed…) or with a plain-text one (tower-http's body limit
/// answers a too-large `Content-Length` with `text/plain`), so *every* error is
/// problem+json. Problems, JSON and the storefront's HTML error pages pass unchanged.
pub(crate) async fn problem_for_bare_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_error = status.is_client_error() || status.is_server_error();
    let bare = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_none_or(|value| value.as_bytes().starts_with(b"text/plain"));
    if !is_error || !bare {
        return response;
    }
    let mut problem = Problem::from_status(status).into_response();
    // Keep headers such as `Allow` on a 405.
    for (name, value) in response.headers() {
        if name != header::CONTENT_LENGTH && name != header::CONTENT_TYPE {
            problem.headers_mut().insert(name.clone(), value.clone());
        }
    }
    debug_assert_eq!(
        problem
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        Some(CONTENT_TYPE)
    );
    problem
}

/// Turns a panic in a handler into a logged 500 problem instead of a dropped connection.
pub(crate) fn panic_to_problem(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    Problem::internal(&format!("handler panicked: {message}")).into_response()
}
