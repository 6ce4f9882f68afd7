//! A stand-in for an OpenTelemetry collector: receives the spans a test process exports
//! over OTLP/HTTP (protobuf), so a test can look at whole traces.
//!
//! ```no_run
//! # async fn example() -> std::io::Result<()> {
//! let receiver = shop_testing::OtlpReceiver::start().await?;
//! // Export to `receiver.traces_url()` (`TelemetryConfig::traces_endpoint`), run the code,
//! // flush the tracer provider, then:
//! for span in receiver.spans() {
//!     println!("{} {} {}", span.trace_id, span.kind, span.name);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! [`ReceivedSpan::waterfall_html`] draws one trace as a page, like Jaeger's trace view.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// One received span, with ids as lowercase hex (as in `traceparent` and in logs).
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedSpan {
    /// The resource's `service.name`.
    pub service_name: String,
    pub trace_id: String,
    pub span_id: String,
    /// `None` for a root span.
    pub parent_span_id: Option<String>,
    pub name: String,
    /// `server`, `client`, `producer`, `consumer` or `internal`.
    pub kind: &'static str,
    /// Every attribute, its value as text (`true`, `42`, `GET`).
    pub attributes: BTreeMap<String, String>,
    /// `(trace id, span id)` of each linked span.
    pub links: Vec<(String, String)>,
    /// When the span started, in nanoseconds since the Unix epoch.
    pub start_unix_nanos: u64,
    /// When the span ended, in nanoseconds since the Unix epoch.
    pub end_unix_nanos: u64,
}

impl ReceivedSpan {
    /// The attribute's value as text.
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }

    /// How long the span lasted, in nanoseconds.
    pub fn duration_nanos(&self) -> u64 {
        self.end_unix_nanos.saturating_sub(self.start_unix_nanos)
    }

    /// The spans of one trace as a self-contained HTML page (inline CSS, no script, nothing
    /// fetched), drawn like Jaeger's trace view: one row per span, under its parent and
    /// indented by depth, siblings by start time; a bar placed and sized by the span's start
    /// and duration within the trace; its service, name, kind and duration.
    ///
    /// `service` names the service a span belongs to; for a span it returns `None` for, the
    /// service is its parent's (a query or a producer span belongs to whoever made it), and
    /// for a root, its resource's `service.name`. A span whose parent is not among `spans`
    /// is drawn as a root.
    pub fn waterfall_html(
        title: &str,
        spans: &[ReceivedSpan],
        service: impl Fn(&ReceivedSpan) -> Option<String>,
    ) -> String {
        waterfall::html(title, spans, service)
    }
}

/// An OTLP/HTTP receiver on a random local port, stopped when dropped.
#[derive(Debug)]
pub struct OtlpReceiver {
    addr: SocketAddr,
    spans: Arc<Mutex<Vec<ReceivedSpan>>>,
    stop: CancellationToken,
}

impl OtlpReceiver {
    pub async fn start() -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let spans = Arc::new(Mutex::new(Vec::new()));
        let router = Router::new()
            .route("/v1/traces", post(receive))
            .with_state(spans.clone());
        let stop = CancellationToken::new();
        let stopped = stop.clone().cancelled_owned();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(stopped)
                .await;
        });
        Ok(Self { addr, spans, stop })
    }

    /// The base URL, as `OTEL_EXPORTER_OTLP_ENDPOINT` takes it.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The full traces URL, as `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` takes it.
    pub fn traces_url(&self) -> String {
        format!("http://{}/v1/traces", self.addr)
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.spans
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The spans received so far of one trace.
    pub fn trace(&self, trace_id: &str) -> Vec<ReceivedSpan> {
        self.spans()
            .into_iter()
            .filter(|span| span.trace_id == trace_id)
            .collect()
    }

    /// Polls until `condition` holds for the spans received (or `patience` runs out) and
    /// returns them either way.
    pub async fn wait_for(
        &self,
        patience: Duration,
        mut condition: impl FnMut(&[ReceivedSpan]) -> bool,
    ) -> Vec<ReceivedSpan> {
        let deadline = Instant::now() + patience;
        loop {
            let spans = self.spans();
            if condition(&spans) || Instant::now() >= deadline {
                return spans;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn receive(
    State(store): State<Arc<Mutex<Vec<ReceivedSpan>>>>,
    body: Bytes,
) -> impl IntoResponse {
    let request = match ExportTraceServiceRequest::decode(body) {
        Ok(request) => request,
        Err(error) => return (StatusCode::BAD_REQUEST, error.to_string()).into_response(),
    };
    let received = decode(request);
    store
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .extend(received);
    (
        [(header::CONTENT_TYPE, "application/x-protobuf")],
        ExportTraceServiceResponse::default().encode_to_vec(),
    )
        .into_response()
}

fn decode(request: ExportTraceServiceRequest) -> Vec<ReceivedSpan> {
    let mut received = Vec::new();
    for resource_spans in request.resource_spans {
        let service_name = resource_spans
            .resource
            .iter()
            .flat_map(|resource| &resource.attributes)
            .find(|attribute| attribute.key == "service.name")
            .map(|attribute| text(attribute.value.as_ref()))
            .unwrap_or_default();
        for span in resource_spans
            .scope_spans
            .into_iter()
            .flat_map(|scope| scope.spans)
        {
            received.push(ReceivedSpan {
                service_name: service_name.clone(),
                trace_id: hex(&span.trace_id),
                span_id: hex(&span.span_id),
                parent_span_id: (!span.parent_span_id.is_empty())
                    .then(|| hex(&span.parent_span_id)),
                name: span.name,
                kind: kind(span.kind),
                attributes: attributes(&span.attributes),
                links: span
                    .links
                    .iter()
                    .map(|link| (hex(&link.trace_id), hex(&link.span_id)))
                    .collect(),
                start_unix_nanos: span.start_time_unix_nano,
                end_unix_nanos: span.end_time_unix_nano,
            });
        }
    }
    received
}

fn kind(kind: i32) -> &'static str {
    match SpanKind::try_from(kind) {
        Ok(SpanKind::Server) => "server",
        Ok(SpanKind::Client) => "client",
        Ok(SpanKind::Producer) => "producer",
        Ok(SpanKind::Consumer) => "consumer",
        _ => "internal",
    }
}

fn attributes(attributes: &[KeyValue]) -> BTreeMap<String, String> {
    attributes
        .iter()
        .map(|attribute| (attribute.key.clone(), text(attribute.value.as_ref())))
        .collect()
}

fn text(value: Option<&AnyValue>) -> String {
    match value.and_then(|value| value.value.as_ref()) {
        None => String::new(),
        Some(any_value::Value::StringValue(text)) => text.clone(),
        Some(any_value::Value::BoolValue(flag)) => flag.to_string(),
        Some(any_value::Value::IntValue(number)) => number.to_string(),
        Some(any_value::Value::DoubleValue(number)) => number.to_string(),
        Some(any_value::Value::BytesValue(bytes)) => hex(bytes),
        Some(any_value::Value::ArrayValue(array)) => {
            let items: Vec<String> = array.values.iter().map(|v| text(Some(v))).collect();
            format!("[{}]", items.join(","))
        }
        Some(any_value::Value::KvlistValue(list)) => {
            let items: Vec<String> = list
                .values
                .iter()
                .map(|kv| format!("{}={}", kv.key, text(kv.value.as_ref())))
                .collect();
            format!("{{{}}}", items.join(","))
        }
        Some(_) => String::new(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The trace view: layout (pure, unit-tested) and its HTML.
mod waterfall {
    use super::*;

    /// One row of the view.
    #[derive(Debug)]
    pub(super) struct Row<'a> {
        pub span: &'a ReceivedSpan,
        pub depth: usize,
        pub service: String,
        /// Where the bar starts, as a fraction of the trace's duration.
        pub offset: f64,
        /// How long the bar is, as a fraction of the trace's duration.
        pub width: f64,
    }

    /// The rows in display order (depth first, siblings by start time), the trace's start
    /// and its duration in nanoseconds (at least 1).
    pub(super) fn layout<'a>(
        spans: &'a [ReceivedSpan],
        service: impl Fn(&ReceivedSpan) -> Option<String>,
    ) -> (Vec<Row<'a>>, u64, u64) {
        let start = spans.iter().map(|s| s.start_unix_nanos).min().unwrap_or(0);
        let end = spans
            .iter()
            .map(|s| s.end_unix_nanos)
            .max()
            .unwrap_or(start);
        let total = end.saturating_sub(start).max(1);
        let known: HashSet<&str> = spans.iter().map(|s| s.span_id.as_str()).collect();
        let mut children: HashMap<Option<&str>, Vec<&ReceivedSpan>> = HashMap::new();
        for span in spans {
            let parent = span
                .parent_span_id
                .as_deref()
                .filter(|id| known.contains(id));
            children.entry(parent).or_default().push(span);
        }
        for siblings in children.values_mut() {
            siblings.sort_by(|a, b| {
                (a.start_unix_nanos, a.end_unix_nanos, &a.name).cmp(&(
                    b.start_unix_nanos,
                    b.end_unix_nanos,
                    &b.name,
                ))
            });
        }

        let mut rows = Vec::with_capacity(spans.len());
        let mut seen: HashSet<&str> = HashSet::new();
        // Depth first; a stack of (span, depth, parent's service), pushed in reverse so the
        // earliest sibling comes out first.
        let mut stack: Vec<(&ReceivedSpan, usize, Option<String>)> = children
            .get(&None)
            .into_iter()
            .flatten()
            .rev()
            .map(|span| (*span, 0, None))
            .collect();
        while let Some((span, depth, inherited)) = stack.pop() {
            if !seen.insert(span.span_id.as_str()) {
                continue;
            }
            let label = service(span)
                .or(inherited)
                .unwrap_or_else(|| span.service_name.clone());
            if let Some(kids) = children.get(&Some(span.span_id.as_str())) {
                for kid in kids.iter().rev() {
                    stack.push((kid, depth + 1, Some(label.clone())));
                }
            }
            rows.push(Row {
                span,
                depth,
                service: label,
                offset: span.start_unix_nanos.saturating_sub(start) as f64 / total as f64,
                width: span.duration_nanos() as f64 / total as f64,
            });
        }
        (rows, start, total)
    }

    /// Distinct, readable on white, in the order services first appear.
    const COLOURS: [&str; 8] = [
        "#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#e15759", "#76b7b2", "#edc948", "#9c755f",
    ];

    pub(super) fn html(
        title: &str,
        spans: &[ReceivedSpan],
        service: impl Fn(&ReceivedSpan) -> Option<String>,
    ) -> String {
        let (rows, _, total) = layout(spans, service);
        let mut services: Vec<&str> = Vec::new();
        for row in &rows {
            if !services.contains(&row.service.as_str()) {
                services.push(&row.service);
            }
        }
        let colour = |service: &str| {
            let index = services.iter().position(|s| *s == service).unwrap_or(0);
            COLOURS[index % COLOURS.len()]
        };
        let trace_id = spans.first().map_or("", |s| s.trace_id.as_str());

        let mut page = String::new();
        let _ = write!(
            page,
            r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title><style>{STYLE}</style></head>
<body><header><h1>{title}</h1><p class="meta">Trace <code>{trace_id}</code> · {spans} spans · {count} services · {duration}</p><p class="legend">"#,
            title = escape(title),
            spans = rows.len(),
            count = services.len(),
            duration = millis(total),
        );
        for service in &services {
            let _ = write!(
                page,
                r#"<span><i style="background:{}"></i>{}</span>"#,
                colour(service),
                escape(service)
            );
        }
        page.push_str(r#"</p></header><main><div class="row head"><div class="label">Service · operation</div><div class="timeline">"#);
        for tick in 0..=4u64 {
            let _ = write!(
                page,
                r#"<span class="tick" style="left:{}%">{}</span>"#,
                tick * 25,
                millis(total * tick / 4)
            );
        }
        page.push_str("</div></div>\n");
        for row in &rows {
            let span = row.span;
            let colour = colour(&row.service);
            let offset = row.offset * 100.0;
            let width = row.width * 100.0;
            // The duration goes after the bar, or before it when the bar ends near the edge.
            let duration_at = if row.offset + row.width > 0.8 {
                format!("right:{:.3}%", 100.0 - offset)
            } else {
                format!("left:{:.3}%", offset + width)
            };
            let _ = writeln!(
                page,
                r#"<div class="row {kind}"><div class="label" style="padding-left:{indent}px"><span class="service" style="border-color:{colour};color:{colour}">{service}</span><span class="name">{name}</span>{detail}<span class="kind">{kind}</span></div><div class="timeline"><div class="bar" style="left:{offset:.3}%;width:{width:.3}%;background:{colour}"></div><span class="duration" style="{duration_at}">{duration}</span></div></div>"#,
                kind = span.kind,
                indent = 8 + row.depth * 16,
                service = escape(&row.service),
                name = escape(&span.name),
                detail = span
                    .attribute("event.type")
                    .map(|event| format!(r#"<span class="detail">{}</span>"#, escape(event)))
                    .unwrap_or_default(),
                duration = millis(span.duration_nanos()),
            );
        }
        page.push_str("</main></body></html>\n");
        page
    }

    /// `12.3 ms`, `0.42 ms`: readable at both ends of a trace.
    pub(super) fn millis(nanos: u64) -> String {
        let ms = nanos as f64 / 1e6;
        if ms >= 100.0 {
            format!("{ms:.0} ms")
        } else if ms >= 10.0 {
            format!("{ms:.1} ms")
        } else {
            format!("{ms:.2} ms")
        }
    }

    fn escape(text: &str) -> String {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    }

    const STYLE: &str = "
* { box-sizing: border-box; }
body { margin: 0; font: 13px/1.35 -apple-system, 'Segoe UI', 'DejaVu Sans', Helvetica, Arial, sans-serif; color: #1f2933; background: #fff; }
header { padding: 12px 20px 6px; border-bottom: 1px solid #d9dee3; background: #f7f8fa; }
h1 { margin: 0 0 4px; font-size: 18px; font-weight: 600; }
.meta { margin: 0 0 6px; color: #52606d; }
code { font: 12px 'DejaVu Sans Mono', Menlo, monospace; }
.legend span { display: inline-flex; align-items: center; margin-right: 16px; }
.legend i { width: 12px; height: 12px; border-radius: 2px; margin-right: 5px; }
.row { display: flex; height: 20px; border-bottom: 1px solid #f0f2f4; }
.row:nth-child(even) { background: #fafbfc; }
.row.head { height: 24px; background: #eef1f4; border-bottom: 1px solid #d9dee3; font-weight: 600; color: #52606d; }
.label { flex: 0 0 640px; display: flex; align-items: center; gap: 6px; overflow: hidden; white-space: nowrap; border-right: 1px solid #d9dee3; padding-right: 8px; }
.head .label { padding-left: 8px; }
.service { flex: none; font-size: 11px; padding: 0 5px; border-left: 3px solid; background: #fff; border-radius: 2px; }
.name { overflow: hidden; text-overflow: ellipsis; }
.detail { flex: none; font-size: 11px; color: #7b8794; }
.server .name, .consumer .name { font-weight: 600; }
.kind { flex: none; margin-left: auto; font-size: 10px; color: #7b8794; text-transform: uppercase; letter-spacing: .04em; }
.timeline { position: relative; flex: 1; margin: 0 24px 0 12px; background-image: linear-gradient(to right, #e4e7eb 1px, transparent 1px); background-size: 25% 100%; }
.head .timeline { background: none; }
.tick { position: absolute; top: 4px; transform: translateX(-50%); font-weight: 400; font-size: 11px; white-space: nowrap; }
.tick:first-child { transform: none; }
.tick:last-child { transform: translateX(-100%); }
.bar { position: absolute; top: 4px; height: 12px; min-width: 2px; border-radius: 2px; }
.duration { position: absolute; top: 2px; padding: 0 5px; font-size: 11px; color: #52606d; white-space: nowrap; }
";

    #[cfg(test)]
    mod tests {
        use super::*;

        fn span(id: &str, parent: Option<&str>, name: &str, start: u64, end: u64) -> ReceivedSpan {
            ReceivedSpan {
                service_name: "tests".to_owned(),
                trace_id: "t".to_owned(),
                span_id: id.to_owned(),
                parent_span_id: parent.map(str::to_owned),
                name: name.to_owned(),
                kind: "internal",
                attributes: BTreeMap::new(),
                links: Vec::new(),
                start_unix_nanos: start,
                end_unix_nanos: end,
            }
        }

        /// A root at 1000..2000 with two children given out of order, a grandchild, and
        /// a span whose parent was never received.
        fn trace() -> Vec<ReceivedSpan> {
            vec![
                span("c2", Some("root"), "second", 1_500, 2_000),
                span("g", Some("c1"), "grandchild", 1_200, 1_300),
                span("root", None, "root", 1_000, 2_000),
                span("c1", Some("root"), "first", 1_100, 1_400),
                span("orphan", Some("lost"), "orphan", 1_900, 1_950),
            ]
        }

        #[test]
        fn rows_go_depth_first_with_siblings_by_start() {
            let spans = trace();
            let (rows, start, total) = layout(&spans, |_| None);
            let order: Vec<(&str, usize)> = rows
                .iter()
                .map(|row| (row.span.name.as_str(), row.depth))
                .collect();
            assert_eq!(
                order,
                [
                    ("root", 0),
                    ("first", 1),
                    ("grandchild", 2),
                    ("second", 1),
                    ("orphan", 0),
                ]
            );
            assert_eq!((start, total), (1_000, 1_000));
        }

        #[test]
        fn bars_are_placed_by_start_and_sized_by_duration() {
            let spans = trace();
            let (rows, _, _) = layout(&spans, |_| None);
            let bar = |name: &str| {
                let row = rows.iter().find(|row| row.span.name == name).unwrap();
                (row.offset, row.width)
            };
            assert_eq!(bar("root"), (0.0, 1.0));
            assert_eq!(bar("first"), (0.1, 0.3));
            assert_eq!(bar("grandchild"), (0.2, 0.1));
            assert_eq!(bar("second"), (0.5, 0.5));
        }

        #[test]
        fn a_span_without_a_label_belongs_to_its_parents_service() {
            let spans = trace();
            let (rows, _, _) = layout(&spans, |span| {
                (span.name == "root").then(|| "storefront".to_owned())
            });
            let services: Vec<&str> = rows.iter().map(|row| row.service.as_str()).collect();
            assert_eq!(
                services,
                [
                    "storefront",
                    "storefront",
                    "storefront",
                    "storefront",
                    "tests"
                ]
            );
        }

        #[test]
        fn the_page_is_self_contained_and_escaped() {
            let mut spans = trace();
            spans[0].name = "<script>".to_owned();
            let page = ReceivedSpan::waterfall_html("a & b", &spans, |_| None);
            assert!(page.contains("&lt;script&gt;"), "{page}");
            assert!(page.contains("<title>a &amp; b</title>"), "{page}");
            assert!(!page.contains("<script"), "{page}");
            assert!(!page.contains("http"), "nothing is fetched: {page}");
            assert_eq!(page.matches(r#"<div class="bar""#).count(), spans.len());
        }

        #[test]
        fn durations_read_well_at_both_ends() {
            assert_eq!(millis(420_000), "0.42 ms");
            assert_eq!(millis(12_345_678), "12.3 ms");
            assert_eq!(millis(1_234_000_000), "1234 ms");
        }
    }
}
