//! W3C trace context (`traceparent`, `tracestate`) in and out of HTTP headers.
//!
//! Kafka headers use the same functions through `shop-events`' own carrier.

use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The remote parent context described by inbound headers (empty when there is none).
pub fn extract_from_headers(headers: &http::HeaderMap) -> Context {
    extract(&HeaderExtractor(headers))
}

/// Writes the current span's context into outbound headers.
pub fn inject_into_headers(headers: &mut http::HeaderMap) {
    inject(&mut HeaderInjector(headers));
}

/// The remote parent context found in any carrier.
pub fn extract(carrier: &dyn Extractor) -> Context {
    opentelemetry::global::get_text_map_propagator(|propagator| propagator.extract(carrier))
}

/// Writes the current span's context into any carrier.
pub fn inject(carrier: &mut dyn Injector) {
    let context = tracing::Span::current().context();
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&context, carrier)
    });
}

/// The current trace id as 32 hex digits, when there is a valid one (for logs and links).
pub fn current_trace_id() -> Option<String> {
    use opentelemetry::trace::TraceContextExt;
    let context = tracing::Span::current().context();
    let span_context = context.span().span_context().clone();
    span_context
        .is_valid()
        .then(|| span_context.trace_id().to_string())
}
