//! Telemetry shared by every Harbor Shop service.
//!
//! One call, [`init`], gives a service:
//! - JSON logs through `tracing` (set `LOG_FORMAT=pretty` for a human-friendly terminal),
//!   filtered by `RUST_LOG` (default `info`);
//! - OpenTelemetry traces. Spans are always created, so every log line and every outbound
//!   call carries a W3C trace context; they are *exported* over OTLP/HTTP only when
//!   `OTEL_EXPORTER_OTLP_ENDPOINT` (or `..._TRACES_ENDPOINT`) is set. Sampling and batching
//!   follow the standard `OTEL_TRACES_SAMPLER`, `OTEL_BSP_*` variables;
//! - a Prometheus recorder for the `metrics` facade, rendered at `/metrics` by `shop-server`.

pub mod metrics;
pub mod propagation;
pub mod request_id;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Who is emitting telemetry: becomes the OpenTelemetry resource.
#[derive(Debug, Clone, Copy)]
pub struct ServiceInfo {
    pub name: &'static str,
    pub version: &'static str,
}

/// Keeps the tracer provider alive; dropping it flushes the spans still queued.
#[must_use = "dropping the guard shuts tracing down"]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl std::fmt::Debug for TelemetryGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelemetryGuard")
            .field("exporting", &self.provider.is_some())
            .finish()
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(error) = provider.shutdown()
        {
            eprintln!("telemetry: flushing spans at shutdown failed: {error}");
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("cannot build the OTLP span exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
}

/// Installs logging, tracing and metrics for this process.
///
/// Safe to call more than once (integration tests start several services in one process):
/// the first subscriber wins and later calls only return a guard.
pub fn init(service: ServiceInfo) -> Result<TelemetryGuard, TelemetryError> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    metrics::install_recorder();

    let resource = Resource::builder()
        .with_service_name(service_name_from_env().unwrap_or_else(|| service.name.to_owned()))
        .with_attribute(opentelemetry::KeyValue::new(
            "service.version",
            service.version,
        ))
        .build();
    let mut builder = SdkTracerProvider::builder().with_resource(resource);
    let exporting = otlp_endpoint_configured();
    if exporting {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .build()?;
        builder = builder.with_batch_exporter(exporter);
    }
    let provider = builder.build();
    let tracer = provider.tracer(service.name);

    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt_layer = if std::env::var("LOG_FORMAT").is_ok_and(|f| f == "pretty") {
        tracing_subscriber::fmt::layer().compact().boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .boxed()
    };
    let installed = tracing_subscriber::registry()
        .with(filter)
        .with(fmt_layer)
        .with(tracing_opentelemetry::layer().with_tracer(tracer))
        .try_init()
        .is_ok();
    if installed {
        opentelemetry::global::set_tracer_provider(provider.clone());
        tracing::info!(
            service = service.name,
            version = service.version,
            exporting_traces = exporting,
            "telemetry initialised"
        );
    }
    Ok(TelemetryGuard {
        provider: (installed && exporting).then_some(provider),
    })
}

fn otlp_endpoint_configured() -> bool {
    let disabled = std::env::var("OTEL_SDK_DISABLED").is_ok_and(|v| v.eq_ignore_ascii_case("true"));
    let endpoint = [
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
    ]
    .iter()
    .any(|name| std::env::var(name).is_ok_and(|v| !v.trim().is_empty()));
    endpoint && !disabled
}

fn service_name_from_env() -> Option<String> {
    std::env::var("OTEL_SERVICE_NAME")
        .ok()
        .filter(|name| !name.trim().is_empty())
}
