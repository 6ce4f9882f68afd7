//! Span export that never slows the code being traced, and sampling.
//!
//! Spans leave through the SDK's batch processor, on a thread of its own. In front of it,
//! [`BoundedBatchProcessor`] admits at most `max_queue_size` spans waiting for export:
//! when the collector is slow or gone, new spans are dropped at once (never waited for)
//! and counted in `otel_spans_dropped_total{reason="queue_full"}`. Batches the exporter
//! could not deliver are counted there too, with `reason="export_failed"`.

use opentelemetry::Context;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler, Span, SpanData, SpanExporter, SpanProcessor,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// The counter of spans that were never exported, labelled by `reason`.
pub const DROPPED_SPANS: &str = "otel_spans_dropped_total";

/// Which spans are recorded, from `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sampling {
    AlwaysOn,
    AlwaysOff,
    /// This fraction of traces, decided from the trace id (the same answer in every service).
    TraceIdRatio(f64),
    /// Follow the caller's decision; decide roots with the inner choice.
    ParentBased(RootSampling),
}

/// How a parent-based sampler decides for a trace that starts here.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RootSampling {
    AlwaysOn,
    AlwaysOff,
    TraceIdRatio(f64),
}

impl Default for Sampling {
    /// `parentbased_traceidratio` with ratio 1.0: keep every trace, follow callers.
    fn default() -> Self {
        Self::ParentBased(RootSampling::TraceIdRatio(1.0))
    }
}

impl Sampling {
    /// Reads the standard variables' values. An unknown sampler name or a ratio outside
    /// `0..=1` is an error naming the variable; a missing ratio means 1.0.
    pub fn parse(sampler: Option<&str>, arg: Option<&str>) -> Result<Self, String> {
        let ratio = || -> Result<f64, String> {
            match arg.map(str::trim).filter(|arg| !arg.is_empty()) {
                None => Ok(1.0),
                Some(arg) => arg
                    .parse::<f64>()
                    .ok()
                    .filter(|ratio| (0.0..=1.0).contains(ratio))
                    .ok_or_else(|| {
                        format!("OTEL_TRACES_SAMPLER_ARG: `{arg}` is not a ratio between 0 and 1")
                    }),
            }
        };
        let name = sampler.map(str::trim).filter(|name| !name.is_empty());
        Ok(match name {
            None | Some("parentbased_traceidratio") => {
                Self::ParentBased(RootSampling::TraceIdRatio(ratio()?))
            }
            Some("always_on") => Self::AlwaysOn,
            Some("always_off") => Self::AlwaysOff,
            Some("traceidratio") => Self::TraceIdRatio(ratio()?),
            Some("parentbased_always_on") => Self::ParentBased(RootSampling::AlwaysOn),
            Some("parentbased_always_off") => Self::ParentBased(RootSampling::AlwaysOff),
            Some(other) => {
                return Err(format!(
                    "OTEL_TRACES_SAMPLER: `{other}` is not one of always_on, always_off, \
                     traceidratio, parentbased_always_on, parentbased_always_off, \
                     parentbased_traceidratio"
                ));
            }
        })
    }

    pub(crate) fn sampler(self) -> Sampler {
        match self {
            Self::AlwaysOn => Sampler::AlwaysOn,
            Self::AlwaysOff => Sampler::AlwaysOff,
            Self::TraceIdRatio(ratio) => Sampler::TraceIdRatioBased(ratio),
            Self::ParentBased(root) => Sampler::ParentBased(Box::new(match root {
                RootSampling::AlwaysOn => Sampler::AlwaysOn,
                RootSampling::AlwaysOff => Sampler::AlwaysOff,
                RootSampling::TraceIdRatio(ratio) => Sampler::TraceIdRatioBased(ratio),
            })),
        }
    }
}

/// The SDK's batch processor behind a bound of our own, so that every dropped span is
/// counted (the SDK only logs how many it dropped when it shuts down).
///
/// `queued` counts the spans handed to the batch processor and not yet through the
/// exporter (delivered or failed). The inner queue is larger than `capacity`, so the
/// inner processor never drops on its own: every drop happens, and is counted, here.
#[derive(Debug)]
pub(crate) struct BoundedBatchProcessor {
    inner: BatchSpanProcessor,
    queued: Arc<AtomicUsize>,
    capacity: usize,
}

impl BoundedBatchProcessor {
    pub(crate) fn new<E: SpanExporter + 'static>(exporter: E, capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let queued = Arc::new(AtomicUsize::new(0));
        let exporter = CountingExporter {
            inner: exporter,
            queued: queued.clone(),
        };
        // The builder's defaults come from the standard `OTEL_BSP_*` variables (batch
        // size, delay, export timeout); only the queue size is ours.
        let config = BatchConfigBuilder::default()
            .with_max_queue_size(capacity.saturating_mul(2))
            .build();
        let inner = BatchSpanProcessor::builder(exporter)
            .with_batch_config(config)
            .build();
        Self {
            inner,
            queued,
            capacity,
        }
    }
}

impl SpanProcessor for BoundedBatchProcessor {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        // The inner processor ignores these too; they must not count as queued.
        if !span.span_context.is_sampled() {
            return;
        }
        let admitted = self
            .queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |queued| {
                (queued < self.capacity).then_some(queued + 1)
            })
            .is_ok();
        if admitted {
            self.inner.on_end(span);
        } else {
            ::metrics::counter!(DROPPED_SPANS, "reason" => "queue_full").increment(1);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// Releases queue places as batches leave, and counts the spans of failed exports.
#[derive(Debug)]
struct CountingExporter<E> {
    inner: E,
    queued: Arc<AtomicUsize>,
}

impl<E: SpanExporter> SpanExporter for CountingExporter<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let count = batch.len();
        let result = self.inner.export(batch).await;
        // Never below zero, whatever happens to the bookkeeping.
        let _ = self
            .queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |queued| {
                Some(queued.saturating_sub(count))
            });
        if result.is_err() {
            ::metrics::counter!(DROPPED_SPANS, "reason" => "export_failed")
                .increment(u64::try_from(count).unwrap_or(u64::MAX));
        }
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use std::sync::{Condvar, Mutex};

    /// An exporter stuck until released, like one waiting on a collector that is gone.
    #[derive(Debug, Clone, Default)]
    struct Stuck(Arc<(Mutex<bool>, Condvar)>);

    impl Stuck {
        fn release(&self) {
            *self.0.0.lock().unwrap() = true;
            self.0.1.notify_all();
        }
    }

    impl SpanExporter for Stuck {
        async fn export(&self, _batch: Vec<SpanData>) -> OTelSdkResult {
            // Runs on the batch processor's own thread: blocking it is the point.
            let (released, wake) = &*self.0;
            let mut released = released.lock().unwrap();
            while !*released {
                released = wake.wait(released).unwrap();
            }
            Ok(())
        }
    }

    #[test]
    fn spans_beyond_the_queue_are_dropped_at_once_and_counted() {
        let exporter = Stuck::default();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(BoundedBatchProcessor::new(exporter.clone(), 4))
            .build();
        let tracer = provider.tracer("test");
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();

        // Ending a span never waits for the stuck exporter: four wait, six are dropped.
        ::metrics::with_local_recorder(&recorder, || {
            for _ in 0..10 {
                tracer.start("work").end();
            }
        });
        exporter.release();
        let text = handle.render();
        assert!(
            text.contains("otel_spans_dropped_total{reason=\"queue_full\"} 6"),
            "{text}"
        );
        provider.shutdown().unwrap();
    }

    #[test]
    fn the_default_is_parent_based_keeping_every_root() {
        assert_eq!(Sampling::parse(None, None), Ok(Sampling::default()));
        assert_eq!(
            Sampling::default(),
            Sampling::ParentBased(RootSampling::TraceIdRatio(1.0))
        );
        assert_eq!(
            Sampling::parse(Some(" "), Some("")),
            Ok(Sampling::default())
        );
    }

    #[test]
    fn the_standard_names_are_understood() {
        let parse = |name, arg| Sampling::parse(Some(name), arg);
        assert_eq!(parse("always_on", None), Ok(Sampling::AlwaysOn));
        assert_eq!(parse("always_off", None), Ok(Sampling::AlwaysOff));
        assert_eq!(
            parse("traceidratio", Some("0.25")),
            Ok(Sampling::TraceIdRatio(0.25))
        );
        assert_eq!(
            parse("parentbased_traceidratio", Some("0.1")),
            Ok(Sampling::ParentBased(RootSampling::TraceIdRatio(0.1)))
        );
        assert_eq!(
            parse("parentbased_always_off", None),
            Ok(Sampling::ParentBased(RootSampling::AlwaysOff))
        );
    }

    #[test]
    fn mistakes_name_the_variable() {
        let unknown = Sampling::parse(Some("sometimes"), None).unwrap_err();
        assert!(unknown.starts_with("OTEL_TRACES_SAMPLER:"), "{unknown}");
        let ratio = Sampling::parse(Some("traceidratio"), Some("2")).unwrap_err();
        assert!(ratio.starts_with("OTEL_TRACES_SAMPLER_ARG:"), "{ratio}");
    }
}
