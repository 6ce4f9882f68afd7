//! The process-wide Prometheus recorder behind the `metrics` facade.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Latency buckets in seconds: fine-grained below 100 ms, where most calls live, and up to
/// 10 s to see timeouts.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Installs the recorder once per process; later calls are no-ops.
pub fn install_recorder() {
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new());
        match builder.install_recorder() {
            Ok(handle) => handle,
            // Another recorder was installed first (a test harness, say): keep a private one
            // so `/metrics` still renders.
            Err(_) => PrometheusBuilder::new().build_recorder().handle(),
        }
    });
}

/// Renders every metric in the Prometheus text format.
pub fn render() -> String {
    install_recorder();
    HANDLE
        .get()
        .map(PrometheusHandle::render)
        .unwrap_or_default()
}
