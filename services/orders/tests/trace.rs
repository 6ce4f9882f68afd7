//! One order, placed through the storefront, followed through every service it touches,
//! as ONE trace.
//!
//! A test binary of its own: the tracer provider and the `tracing` subscriber are global to
//! the process, and here they export to a test OTLP receiver. orders, catalog and
//! recommendations all run in this process under that one provider, so the resource's
//! `service.name` is the same for all of them; spans tell services apart by their own
//! attributes instead: an HTTP server span by `server.port` (from the `Host` header), a
//! consumer span by `messaging.consumer.group.name` (each service consumes as its own group).

#![allow(clippy::unwrap_used)] // a test crate: a panic with the value is the report

#[path = "api/helpers.rs"]
#[allow(dead_code)] // this file uses a few of the helpers
mod helpers;

use helpers::{TestApp, eventually, new_key, one_of, spawn_app};
use serde_json::Value;
use shop_server::{Env, ServerConfig, ServiceInfo};
use shop_telemetry::{LogFormat, Sampling, TelemetryConfig};
use shop_testing::{OtlpReceiver, ReceivedSpan, RunningService};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_is_one_trace_across_http_and_kafka() {
    let receiver = OtlpReceiver::start().await.unwrap();
    let _telemetry = shop_telemetry::init_with(
        ServiceInfo {
            name: "harbor-shop-tests",
            version: env!("CARGO_PKG_VERSION"),
        },
        TelemetryConfig {
            traces_endpoint: Some(receiver.traces_url()),
            sampling: Sampling::AlwaysOn,
            max_queue_size: 100_000,
            log_format: LogFormat::Json,
        },
    )
    .unwrap();

    let app = spawn_app().await;
    let recommendations = spawn_recommendations(&app).await;
    let storefront = spawn_storefront(&app, &recommendations).await;
    let product = app.products().await[0].clone();
    let customer = app.customer();
    let placed = storefront
        .http
        .post(storefront.url("/api/orders"))
        .bearer_auth(&customer.token)
        .header("Idempotency-Key", new_key())
        .json(&one_of(&product["id"], 1))
        .send()
        .await
        .unwrap();
    assert_eq!(placed.status(), 202);
    let order: Value = placed.json().await.unwrap();
    let order_id = order["id"].as_str().unwrap().to_owned();
    let settled = app.settled(&customer.token, &order_id).await;
    assert_eq!(settled["status"], "confirmed");
    check_metrics(&app, &recommendations, product["id"].as_str().unwrap()).await;

    let group = |service: &str| format!("{}{service}", app.topic_prefix);
    let storefront_port = storefront.addr.port().to_string();
    let orders_port = app.service.addr.port().to_string();
    let is_checkout = |span: &ReceivedSpan| {
        span.kind == "server"
            && span.attribute("http.route") == Some("/api/orders")
            && span.attribute("http.request.method") == Some("POST")
            && span.attribute("server.port") == Some(storefront_port.as_str())
    };
    let is_placing = |span: &ReceivedSpan| {
        span.kind == "server"
            && span.attribute("http.route") == Some("/v1/orders")
            && span.attribute("http.request.method") == Some("POST")
            && span.attribute("server.port") == Some(orders_port.as_str())
    };
    let consumed = |spans: &[ReceivedSpan], service: &str, event_type: &str| {
        spans
            .iter()
            .find(|span| {
                span.kind == "consumer"
                    && span.attribute("messaging.consumer.group.name")
                        == Some(group(service).as_str())
                    && span.attribute("event.type") == Some(event_type)
            })
            .cloned()
    };

    // Spans arrive in batches, each service's whenever its spans end: wait for the last.
    let spans = receiver
        .wait_for(Duration::from_secs(30), |spans| {
            spans.iter().any(is_checkout)
                && consumed(spans, "recommendations", "OrderConfirmed").is_some()
        })
        .await;
    let checkout = spans
        .iter()
        .find(|span| is_checkout(span))
        .unwrap_or_else(|| {
            // RUST_LOG filters spans too: below `info` there are none to export.
            panic!("no checkout span (RUST_LOG must allow info) among {spans:#?}")
        })
        .clone();
    let trace = receiver.trace(&checkout.trace_id);
    let describe = || {
        trace
            .iter()
            .map(|span| {
                format!(
                    "{} {} {} <- {:?} {:?}",
                    span.kind,
                    span.name,
                    span.span_id,
                    span.parent_span_id,
                    span.attribute("messaging.consumer.group.name")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        checkout.parent_span_id, None,
        "the checkout starts the trace"
    );

    // storefront → orders over HTTP: orders' server span is the child of the storefront's
    // client span, which is the child of the checkout.
    let placing = trace
        .iter()
        .find(|span| is_placing(span))
        .unwrap_or_else(|| {
            panic!(
                "orders' POST /v1/orders is not in the trace:\n{}",
                describe()
            )
        })
        .clone();
    let call = trace
        .iter()
        .find(|span| Some(span.span_id.as_str()) == placing.parent_span_id.as_deref())
        .unwrap_or_else(|| {
            panic!(
                "the parent of orders' span is not in the trace:\n{}",
                describe()
            )
        });
    assert_eq!(call.kind, "client", "{call:#?}");
    assert_eq!(call.attribute("peer.service"), Some("orders"), "{call:#?}");
    assert!(descends_from(&trace, call, &checkout), "{}", describe());

    // orders → OrderPlaced → catalog reserves → StockReserved → orders confirms →
    // OrderConfirmed → recommendations learns: all in the checkout's trace, each consumer
    // span a child of the message's "create" span, whose context the headers carried.
    let catalog = consumed(&trace, "catalog", "OrderPlaced")
        .unwrap_or_else(|| panic!("no catalog OrderPlaced span in the trace:\n{}", describe()));
    let orders = consumed(&trace, "orders", "StockReserved")
        .unwrap_or_else(|| panic!("no orders StockReserved span in the trace:\n{}", describe()));
    let learned = consumed(&trace, "recommendations", "OrderConfirmed").unwrap_or_else(|| {
        panic!(
            "no recommendations OrderConfirmed span in the trace:\n{}",
            describe()
        )
    });

    let placed_message = parent_create_span(&trace, &catalog, "OrderPlaced");
    assert!(
        descends_from(&trace, &placed_message, &placing),
        "OrderPlaced was created while orders placed the order:\n{}",
        describe()
    );
    let reserved_message = parent_create_span(&trace, &orders, "StockReserved");
    assert!(
        descends_from(&trace, &reserved_message, &catalog),
        "StockReserved was created while catalog processed OrderPlaced:\n{}",
        describe()
    );
    let confirmed_message = parent_create_span(&trace, &learned, "OrderConfirmed");
    assert!(
        descends_from(&trace, &confirmed_message, &orders),
        "OrderConfirmed was created while orders processed StockReserved:\n{}",
        describe()
    );
    // Database work shows as client spans: the consumer's "processed" mark, the outbox row.
    let queries = |table: &str| {
        trace
            .iter()
            .filter(|span| {
                span.kind == "client"
                    && span.attribute("db.system.name") == Some("postgresql")
                    && span.attribute("db.collection.name") == Some(table)
            })
            .cloned()
            .collect::<Vec<_>>()
    };
    assert!(
        queries("processed_events")
            .iter()
            .any(|query| query.parent_span_id.as_deref() == Some(catalog.span_id.as_str())),
        "catalog's consumer records the event in a query span:\n{}",
        describe()
    );
    assert!(
        queries("outbox").iter().any(|query| {
            query.parent_span_id.as_deref() == Some(placed_message.span_id.as_str())
                && query.attribute("db.operation.name") == Some("INSERT")
        }),
        "the OrderPlaced row is written in a query span:\n{}",
        describe()
    );
    // The services' own queries too: orders stores the order while serving POST /v1/orders,
    // catalog claims the order and takes the stock while processing OrderPlaced.
    let ran_under = |operation: &str, table: &str, ancestor: &ReceivedSpan| {
        queries(table).iter().any(|query| {
            query.attribute("db.operation.name") == Some(operation)
                && descends_from(&trace, query, ancestor)
        })
    };
    for (operation, table, ancestor) in [
        ("INSERT", "orders", &placing),
        ("INSERT", "order_lines", &placing),
        ("INSERT", "stock_reservations", &catalog),
        ("UPDATE", "products", &catalog),
    ] {
        assert!(
            ran_under(operation, table, ancestor),
            "no {operation} {table} query span under {}:\n{}",
            ancestor.name,
            describe()
        );
    }
    for consumer in [&catalog, &orders, &learned] {
        assert_eq!(consumer.attribute("messaging.system"), Some("kafka"));
        assert_eq!(consumer.attribute("outcome"), Some("processed"));
    }

    // The picture in docs/observability.md: this trace, drawn like Jaeger's trace view.
    let ports = [
        (storefront_port.clone(), "storefront"),
        (orders_port.clone(), "orders"),
        (app.catalog.addr.port().to_string(), "catalog"),
        (recommendations.addr.port().to_string(), "recommendations"),
    ];
    // Topics carry the test's prefix; deployed ones do not, so the picture leaves it out.
    let unprefixed: Vec<ReceivedSpan> = trace
        .iter()
        .map(|span| ReceivedSpan {
            name: span.name.replace(&app.topic_prefix, ""),
            ..span.clone()
        })
        .collect();
    let page = ReceivedSpan::waterfall_html("One checkout, one trace", &unprefixed, |span| {
        let by_port = span
            .attribute("server.port")
            .filter(|_| span.kind == "server");
        let by_group = span.attribute("messaging.consumer.group.name");
        by_port
            .and_then(|port| ports.iter().find(|(p, _)| p == port).map(|(_, s)| *s))
            .or_else(|| by_group.and_then(|group| group.strip_prefix(&app.topic_prefix)))
            .map(str::to_owned)
    });
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("checkout-trace.html");
    std::fs::write(&path, page).unwrap();
    println!("trace waterfall: {}", path.display());
}

/// `/metrics` is Prometheus text with the families the dashboards use. One process has one
/// recorder, so any service's `/metrics` shows what all three recorded.
async fn check_metrics(app: &TestApp, recommendations: &RunningService, product_id: &str) {
    let answer = recommendations
        .get(&format!("/v1/recommendations?product_id={product_id}"))
        .await;
    assert_eq!(answer.status(), 200);
    // The pool gauges are refreshed every few seconds, the first time at start-up.
    let text = app.service.get("/metrics").await.text().await.unwrap();
    let scrape = shop_testing::prometheus::parse(&text)
        .unwrap_or_else(|error| panic!("/metrics is not Prometheus text: {error}\n{text}"));
    for family in [
        "http_server_requests_total",
        "http_server_request_duration_seconds",
        "events_consumed_total",
        "outbox_lag_seconds",
        "outbox_pending",
        "db_pool_connections",
        "db_pool_max_connections",
        "recommendations_served_total",
    ] {
        assert!(scrape.has_family(family), "{family} missing from:\n{text}");
    }
    let states: Vec<&str> = scrape
        .named("db_pool_connections")
        .filter_map(|sample| sample.labels.get("state").map(String::as_str))
        .collect();
    assert!(
        states.contains(&"idle") && states.contains(&"used"),
        "{states:?}"
    );
    let consumed = scrape
        .named("events_consumed_total")
        .find(|sample| sample.labels.get("type").map(String::as_str) == Some("OrderPlaced"))
        .unwrap_or_else(|| panic!("no OrderPlaced consumption counted:\n{text}"));
    assert!(consumed.value >= 1.0);

    // The lag of recommendations' consumer, known once it has committed an offset.
    let group = format!("{}recommendations", app.topic_prefix);
    let lags = || async {
        let text = app.service.get("/metrics").await.text().await.unwrap();
        let scrape = shop_testing::prometheus::parse(&text).unwrap();
        scrape
            .named("consumer_lag")
            .filter(|sample| sample.labels.get("group") == Some(&group))
            .map(|sample| sample.value)
            .collect::<Vec<f64>>()
    };
    eventually(
        Duration::from_secs(15),
        "recommendations' consumer_lag on /metrics",
        || async { !lags().await.is_empty() },
    )
    .await;
    let lags = lags().await;
    assert!(lags.iter().all(|lag| *lag >= 0.0), "{lags:?}");
}

/// The producer span that is `consumer`'s parent: the context the Kafka headers carried.
fn parent_create_span(
    trace: &[ReceivedSpan],
    consumer: &ReceivedSpan,
    event_type: &str,
) -> ReceivedSpan {
    let parent = consumer
        .parent_span_id
        .as_deref()
        .and_then(|id| trace.iter().find(|span| span.span_id == id))
        .unwrap_or_else(|| panic!("the parent of {consumer:#?} is not in the trace"));
    assert_eq!(parent.kind, "producer", "{parent:#?}");
    assert_eq!(parent.attribute("messaging.operation.type"), Some("create"));
    assert_eq!(
        parent.attribute("event.type"),
        Some(event_type),
        "{parent:#?}"
    );
    parent.clone()
}

/// Whether `ancestor` is `span` or one of its ancestors within `trace`.
fn descends_from(trace: &[ReceivedSpan], span: &ReceivedSpan, ancestor: &ReceivedSpan) -> bool {
    let mut current = Some(span);
    while let Some(span) = current {
        if span.span_id == ancestor.span_id {
            return true;
        }
        current = span
            .parent_span_id
            .as_deref()
            .and_then(|id| trace.iter().find(|candidate| candidate.span_id == id));
    }
    false
}

/// The storefront in front of `app`'s services (users is not needed: tokens come from the
/// test issuer).
async fn spawn_storefront(app: &TestApp, recommendations: &RunningService) -> RunningService {
    let env = Env::from_pairs([
        ("CATALOG_URL", app.catalog.base_url()),
        ("ORDERS_URL", app.service.base_url()),
        ("RECOMMENDATIONS_URL", recommendations.base_url()),
    ]);
    let mut config = storefront::config::Config::from_env(&env).expect("config");
    config.server = ServerConfig::ephemeral();
    RunningService::spawn(
        storefront::app::build(config)
            .await
            .expect("storefront starts"),
    )
}

/// recommendations on the same database and topics as `app`.
async fn spawn_recommendations(app: &TestApp) -> RunningService {
    let env = Env::from_pairs([
        ("DATABASE_URL", app.db.url_for("recommendations")),
        ("JWKS_URL", app.issuer.jwks_url()),
        ("KAFKA_BROKERS", app.brokers.clone()),
    ]);
    let mut config = recommendations::config::Config::from_env(&env).expect("config");
    config.server = ServerConfig::ephemeral();
    config.kafka.topic_prefix = app.topic_prefix.clone();
    // Statistics, and so `consumer_lag`, every 200 ms rather than every 15 s.
    config.kafka.statistics_interval = Duration::from_millis(200);
    RunningService::spawn(
        recommendations::app::build(config)
            .await
            .expect("recommendations starts"),
    )
}
