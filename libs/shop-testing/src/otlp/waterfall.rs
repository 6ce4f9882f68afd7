//! The trace view of [`super::ReceivedSpan::waterfall_html`]: layout (pure, unit-tested)
//! and its HTML, apart from the receiver that collects the spans.

use super::ReceivedSpan;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

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
    use std::collections::BTreeMap;

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
