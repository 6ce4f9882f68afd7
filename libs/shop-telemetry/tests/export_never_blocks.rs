//! Exporting spans never slows requests down, even with the collector gone.
//!
//! Telemetry is global to a process, so the parent test runs this same binary twice as a
//! child process (`serve_and_measure`, ignored unless called so): once without exporting,
//! once exporting to a closed port, with frequent batches and a small queue. Each child
//! serves the same requests through the real middleware and reports their mean latency
//! and how many spans it dropped.

#![allow(clippy::unwrap_used)] // a test crate: a panic with the value is the report

use axum::Router;
use axum::routing::get;
use shop_server::{Application, ServiceBuilder, ServiceInfo};
use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

const CHILD: &str = "SHOP_TELEMETRY_EXPORT_CHILD";
/// How many requests a child measures (`cargo xtask bench` asks for more).
const REQUESTS: &str = "SHOP_TELEMETRY_EXPORT_REQUESTS";
const DEFAULT_REQUESTS: u32 = 400;

#[test]
fn requests_do_not_wait_for_an_unreachable_collector() {
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    }; // dropped: nothing listens there any more

    let baseline = measure(&[]);
    let endpoint = format!("http://127.0.0.1:{closed_port}");
    let unreachable = measure(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_BSP_SCHEDULE_DELAY", "20"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "64"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "16"),
    ]);

    println!("baseline {baseline:?}, collector unreachable {unreachable:?}");
    assert_eq!(
        baseline.dropped, 0.0,
        "nothing is exported, nothing dropped"
    );
    assert!(
        unreachable.dropped > 0.0,
        "the child did try to export, and counted what it lost: {unreachable:?}"
    );
    // Generous: a loaded 2-core machine is noisy; blocking on the exporter would cost
    // far more (every connection attempt, every batch).
    let bound = baseline.mean * 2.0 + Duration::from_millis(5).as_secs_f64();
    assert!(
        unreachable.mean < bound,
        "mean request time {:.3} ms with the collector unreachable, {:.3} ms without",
        unreachable.mean * 1000.0,
        baseline.mean * 1000.0
    );
}

#[derive(Debug)]
struct Measured {
    /// Mean seconds per request.
    mean: f64,
    /// `otel_spans_dropped_total`, all reasons.
    dropped: f64,
}

/// Runs the child with `env` and reads its report.
fn measure(env: &[(&str, &str)]) -> Measured {
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["serve_and_measure", "--exact", "--ignored", "--nocapture"])
        .env(CHILD, "1")
        .env("RUST_LOG", "info")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let value = |name: &str| -> f64 {
        stdout
            .lines()
            .find_map(|line| line.strip_prefix(&format!("MEASURED {name}=")))
            .unwrap_or_else(|| panic!("no {name} in the child's output:\n{stdout}"))
            .parse()
            .unwrap()
    };
    Measured {
        mean: value("mean"),
        dropped: value("dropped"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a child process of requests_do_not_wait_for_an_unreachable_collector"]
async fn serve_and_measure() {
    if std::env::var(CHILD).is_err() {
        return;
    }
    let info = ServiceInfo {
        name: "export-test",
        version: "0",
    };
    let telemetry = shop_telemetry::init(info).unwrap();
    let app: Application = ServiceBuilder::new(info)
        .pages(Router::new().route("/work", get(work)))
        .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let url = format!("http://{}/work", app.local_addr());
    tokio::spawn(app.run_until(std::future::pending()));

    let client = reqwest::Client::new();
    let call = || async {
        let response = client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200);
    };
    for _ in 0..50 {
        call().await; // warm-up: connections, allocations
    }
    let requests: u32 = std::env::var(REQUESTS)
        .ok()
        .and_then(|count| count.parse().ok())
        .unwrap_or(DEFAULT_REQUESTS);
    let started = Instant::now();
    for _ in 0..requests {
        call().await;
    }
    let mean = started.elapsed().as_secs_f64() / f64::from(requests);
    // Let the exporter fail a few more batches, then count.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let dropped: f64 = shop_telemetry::metrics::render()
        .lines()
        .filter(|line| line.starts_with(shop_telemetry::DROPPED_SPANS))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    println!("MEASURED mean={mean}");
    println!("MEASURED dropped={dropped}");
    drop(telemetry);
}

/// A handler with a little of what real ones have: a child span and a log line.
async fn work() -> &'static str {
    let span = tracing::info_span!("db query", db.system = "postgresql");
    span.in_scope(|| tracing::info!("working"));
    "done"
}
