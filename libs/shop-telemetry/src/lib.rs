//! Telemetry shared by every Harbor Shop service.
//!
//! One call, [`init`], gives a service:
//! - JSON logs through `tracing` (set `LOG_FORMAT=pretty` for a human-friendly terminal),
//!   filtered by `RUST_LOG` (default `info`);
//! - OpenTelemetry traces. Spans are always created, so every log line and every outbound
//!   call carries a W3C trace context; they are *exported* over OTLP/HTTP only when
//!   `OTEL_EXPORTER_OTLP_ENDPOINT` (or `..._TRACES_ENDPOINT`) is set. Sampling follows
//!   `OTEL_TRACES_SAMPLER`/`_ARG` (default `parentbased_traceidratio`, ratio 1.0), batching
//!   the `OTEL_BSP_*` variables; export never blocks the traced code: beyond
//!   `OTEL_BSP_MAX_QUEUE_SIZE` waiting spans, new ones are dropped and counted in
//!   `otel_spans_dropped_total`;
//! - log lines inside a span carry its `trace_id` and `span_id`;
//! - a Prometheus recorder for the `metrics` facade, rendered at `/metrics` by `shop-server`.

mod export;
mod logs;
pub mod metrics;
pub mod propagation;
pub mod request_id;

pub use export::{DROPPED_SPANS, RootSampling, Sampling};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::fmt::format::JsonFields;
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

impl TelemetryGuard {
    /// Exports every span ended so far, now (tests use it before looking at a collector).
    pub fn force_flush(&self) {
        if let Some(provider) = &self.provider
            && let Err(error) = provider.force_flush()
        {
            tracing::warn!(%error, "flushing spans failed");
        }
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
    #[error("invalid telemetry setting {0}")]
    Setting(String),
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// One JSON object per line, with `trace_id` and `span_id` inside spans.
    #[default]
    Json,
    /// Compact human-readable lines (`LOG_FORMAT=pretty`).
    Pretty,
}

/// What [`init_with`] sets up; [`TelemetryConfig::from_env`] reads the standard variables.
#[derive(Debug, Clone, PartialEq)]
pub struct TelemetryConfig {
    /// The full OTLP/HTTP traces URL (`…/v1/traces`); `None`: spans are made, not exported.
    pub traces_endpoint: Option<String>,
    /// `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`; by default
    /// `parentbased_traceidratio` with ratio 1.0.
    pub sampling: Sampling,
    /// Spans waiting for export beyond this many are dropped and counted
    /// (`OTEL_BSP_MAX_QUEUE_SIZE`, default 2048).
    pub max_queue_size: usize,
    pub log_format: LogFormat,
}

impl TelemetryConfig {
    /// From the process environment.
    pub fn from_env() -> Result<Self, TelemetryError> {
        let variables = process_variables();
        Self::from_lookup(|name| {
            variables
                .iter()
                .find(|(key, _)| *key == name)
                .and_then(|(_, value)| value.as_ref().ok().cloned())
        })
    }

    /// From any source of variables (`lookup` answers a variable's value).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, TelemetryError> {
        let value = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let disabled = value("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        // The signal's own variable is the URL as is; the general one gets the signal's path.
        let traces_endpoint = value("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .or_else(|| {
                value("OTEL_EXPORTER_OTLP_ENDPOINT")
                    .map(|base| format!("{}/v1/traces", base.trim_end_matches('/')))
            })
            .filter(|_| !disabled);
        let sampling = Sampling::parse(
            value("OTEL_TRACES_SAMPLER").as_deref(),
            value("OTEL_TRACES_SAMPLER_ARG").as_deref(),
        )
        .map_err(TelemetryError::Setting)?;
        let max_queue_size = match value("OTEL_BSP_MAX_QUEUE_SIZE") {
            None => DEFAULT_MAX_QUEUE_SIZE,
            Some(size) => size
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|size| *size > 0)
                .ok_or_else(|| {
                    TelemetryError::Setting(format!(
                        "OTEL_BSP_MAX_QUEUE_SIZE: `{size}` is not a positive number"
                    ))
                })?,
        };
        let log_format = match value("LOG_FORMAT").as_deref() {
            Some("pretty") => LogFormat::Pretty,
            _ => LogFormat::Json,
        };
        Ok(Self {
            traces_endpoint,
            sampling,
            max_queue_size,
            log_format,
        })
    }
}

/// The variables [`TelemetryConfig::from_env`] reads, each named literally (outside any
/// `impl`): the deploy drift check finds them here, for every service that calls [`init`].
fn process_variables() -> [(&'static str, Result<String, std::env::VarError>); 7] {
    [
        ("OTEL_SDK_DISABLED", std::env::var("OTEL_SDK_DISABLED")),
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            std::env::var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
        ),
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT"),
        ),
        ("OTEL_TRACES_SAMPLER", std::env::var("OTEL_TRACES_SAMPLER")),
        (
            "OTEL_TRACES_SAMPLER_ARG",
            std::env::var("OTEL_TRACES_SAMPLER_ARG"),
        ),
        (
            "OTEL_BSP_MAX_QUEUE_SIZE",
            std::env::var("OTEL_BSP_MAX_QUEUE_SIZE"),
        ),
        ("LOG_FORMAT", std::env::var("LOG_FORMAT")),
    ]
}

/// The OpenTelemetry specification's default for `OTEL_BSP_MAX_QUEUE_SIZE`.
pub const DEFAULT_MAX_QUEUE_SIZE: usize = 2048;

/// Installs logging, tracing and metrics for this process, configured from the environment
/// (see [`TelemetryConfig::from_env`]).
///
/// Safe to call more than once (integration tests start several services in one process):
/// the first subscriber wins and later calls only return a guard.
pub fn init(service: ServiceInfo) -> Result<TelemetryGuard, TelemetryError> {
    init_with(service, TelemetryConfig::from_env()?)
}

/// [`init`] with the configuration given.
pub fn init_with(
    service: ServiceInfo,
    config: TelemetryConfig,
) -> Result<TelemetryGuard, TelemetryError> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    metrics::install_recorder();

    let resource = Resource::builder()
        .with_service_name(service_name_from_env().unwrap_or_else(|| service.name.to_owned()))
        .with_attribute(opentelemetry::KeyValue::new(
            "service.version",
            service.version,
        ))
        .build();
    let mut builder = SdkTracerProvider::builder()
        .with_resource(resource)
        .with_sampler(config.sampling.sampler());
    let exporting = config.traces_endpoint.is_some();
    if let Some(endpoint) = &config.traces_endpoint {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_endpoint(endpoint)
            .build()?;
        builder = builder.with_span_processor(export::BoundedBatchProcessor::new(
            exporter,
            config.max_queue_size,
        ));
    }
    let provider = builder.build();
    let tracer = provider.tracer(service.name);

    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let dispatch = logs::DispatchSlot::default();
    let fmt_layer = match config.log_format {
        LogFormat::Pretty => tracing_subscriber::fmt::layer().compact().boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .event_format(logs::JsonWithTraceIds::new(dispatch.clone()))
            .fmt_fields(JsonFields::new())
            .boxed(),
    };
    // The OpenTelemetry layer comes first, so a log line's span has its context already.
    let installed = tracing_subscriber::registry()
        .with(filter)
        .with(tracing_opentelemetry::layer().with_tracer(tracer))
        .with(dispatch)
        .with(fmt_layer)
        .try_init()
        .is_ok();
    if installed {
        opentelemetry::global::set_tracer_provider(provider.clone());
        tracing::info!(
            service = service.name,
            version = service.version,
            exporting_traces = exporting,
            sampling = ?config.sampling,
            "telemetry initialised"
        );
    }
    Ok(TelemetryGuard {
        provider: (installed && exporting).then_some(provider),
    })
}

fn service_name_from_env() -> Option<String> {
    std::env::var("OTEL_SERVICE_NAME")
        .ok()
        .filter(|name| !name.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<TelemetryConfig, TelemetryError> {
        TelemetryConfig::from_lookup(|name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    #[test]
    fn nothing_set_makes_spans_without_exporting_them() {
        let config = config(&[]).unwrap();
        assert_eq!(config.traces_endpoint, None);
        assert_eq!(config.sampling, Sampling::default());
        assert_eq!(config.max_queue_size, DEFAULT_MAX_QUEUE_SIZE);
        assert_eq!(config.log_format, LogFormat::Json);
    }

    #[test]
    fn the_general_endpoint_gets_the_traces_path_and_the_signals_own_is_kept() {
        let general = config(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://jaeger:4318/")]).unwrap();
        assert_eq!(
            general.traces_endpoint.as_deref(),
            Some("http://jaeger:4318/v1/traces")
        );
        let own = config(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://jaeger:4318"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "http://other:4318/traces",
            ),
        ])
        .unwrap();
        assert_eq!(
            own.traces_endpoint.as_deref(),
            Some("http://other:4318/traces")
        );
        let disabled = config(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://jaeger:4318"),
            ("OTEL_SDK_DISABLED", "true"),
        ])
        .unwrap();
        assert_eq!(disabled.traces_endpoint, None);
    }

    #[test]
    fn sampling_and_queue_size_come_from_the_standard_variables() {
        let config = config(&[
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.5"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "64"),
            ("LOG_FORMAT", "pretty"),
        ])
        .unwrap();
        assert_eq!(
            config.sampling,
            Sampling::ParentBased(RootSampling::TraceIdRatio(0.5))
        );
        assert_eq!(config.max_queue_size, 64);
        assert_eq!(config.log_format, LogFormat::Pretty);
        assert!(super::tests::config(&[("OTEL_BSP_MAX_QUEUE_SIZE", "0")]).is_err());
    }
}
