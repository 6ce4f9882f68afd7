//! JSON log lines that lead to their trace: `trace_id` and `span_id` on every line written
//! inside a span.
//!
//! tracing-opentelemetry keeps each span's OpenTelemetry context in data of its own, read
//! through [`tracing_opentelemetry::get_otel_context`], which needs the subscriber's
//! `Dispatch`. A log formatter is not given one, and asking `tracing` for the current
//! dispatcher while an event is being dispatched may answer "none", so [`DispatchSlot`], a
//! layer that does nothing else, keeps a weak handle to the subscriber it was registered
//! with. The formatter lets tracing-subscriber's own JSON formatter write the line and
//! puts the two ids in front.
//!
//! No lock is held while the context is read: the formatter holds no span extensions,
//! and the OpenTelemetry layer releases its per-span data between calls.

use opentelemetry::trace::{SpanId, TraceContextExt, TraceId};
use std::sync::{Arc, OnceLock};
use tracing::dispatcher::WeakDispatch;
use tracing::{Dispatch, Event, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::fmt::format::{Format, Json, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The subscriber this layer was registered with, for [`JsonWithTraceIds`].
#[derive(Debug, Clone, Default)]
pub(crate) struct DispatchSlot(Arc<OnceLock<WeakDispatch>>);

impl<S: Subscriber> Layer<S> for DispatchSlot {
    fn on_register_dispatch(&self, subscriber: &Dispatch) {
        let _ = self.0.set(subscriber.downgrade());
    }
}

/// tracing-subscriber's JSON lines (event fields flattened, the current span's fields
/// under `span`), with `trace_id` and `span_id` first when the event is inside a span.
#[derive(Debug)]
pub(crate) struct JsonWithTraceIds {
    json: Format<Json>,
    dispatch: DispatchSlot,
}

impl JsonWithTraceIds {
    pub(crate) fn new(dispatch: DispatchSlot) -> Self {
        let json = tracing_subscriber::fmt::format()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false);
        Self { json, dispatch }
    }

    fn ids_of(&self, span: &tracing::span::Id) -> Option<(TraceId, SpanId)> {
        let dispatch = self.dispatch.0.get()?.upgrade()?;
        let context = tracing_opentelemetry::get_otel_context(span, &dispatch)?;
        let otel_span = context.span();
        let span_context = otel_span.span_context();
        span_context
            .is_valid()
            .then(|| (span_context.trace_id(), span_context.span_id()))
    }
}

impl<S, N> FormatEvent<S, N> for JsonWithTraceIds
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let mut line = String::new();
        self.json.format_event(ctx, Writer::new(&mut line), event)?;
        let ids = ctx.parent_span().and_then(|span| self.ids_of(&span.id()));
        match (ids, line.strip_prefix('{')) {
            (Some((trace_id, span_id)), Some(rest)) => {
                write!(
                    writer,
                    "{{\"trace_id\":\"{trace_id}\",\"span_id\":\"{span_id}\",{rest}"
                )
            }
            _ => writer.write_str(&line),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use std::io;
    use std::sync::Mutex;
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    use tracing_subscriber::fmt::MakeWriter;
    use tracing_subscriber::fmt::format::JsonFields;
    use tracing_subscriber::layer::SubscriberExt;

    /// Collects what the log layer writes.
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Lines {
        type Writer = Lines;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    impl Lines {
        fn json(&self) -> Vec<serde_json::Value> {
            let bytes = self.0.lock().unwrap().clone();
            String::from_utf8(bytes)
                .unwrap()
                .lines()
                .map(|line| serde_json::from_str(line).unwrap())
                .collect()
        }
    }

    #[test]
    fn a_line_inside_a_span_carries_that_spans_trace_and_span_ids() {
        let provider = SdkTracerProvider::builder().build();
        let lines = Lines::default();
        let slot = DispatchSlot::default();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")))
            .with(slot.clone())
            .with(
                tracing_subscriber::fmt::layer()
                    .event_format(JsonWithTraceIds::new(slot))
                    .fmt_fields(JsonFields::new())
                    .with_writer(lines.clone()),
            );

        let (trace_id, span_id) = tracing::subscriber::with_default(subscriber, || {
            tracing::info!("outside any span");
            let span = tracing::info_span!("work", order = 7);
            span.in_scope(|| tracing::info!(step = 1, "inside the span"));
            let context = span.context();
            let otel = context.span();
            let ids = otel.span_context();
            (ids.trace_id().to_string(), ids.span_id().to_string())
        });

        let lines = lines.json();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0].get("trace_id").is_none(), "{}", lines[0]);
        assert_eq!(lines[0]["message"], "outside any span");
        let inside = &lines[1];
        assert_eq!(inside["trace_id"], trace_id.as_str(), "{inside}");
        assert_eq!(inside["span_id"], span_id.as_str(), "{inside}");
        assert_ne!(trace_id, TraceId::INVALID.to_string());
        // What tracing-subscriber writes is still there.
        assert_eq!(inside["message"], "inside the span");
        assert_eq!(inside["step"], 1);
        assert_eq!(inside["span"]["order"], 7);
        assert_eq!(inside["level"], "INFO");
    }
}
