//! What trace export costs a request, as ratios measured side by side (one section of
//! `cargo xtask bench`).
//!
//! The same release-built server (the child mode of
//! `libs/shop-telemetry/tests/export_never_blocks.rs`: the real middleware, a handler with
//! a span and a log line) answers the same requests in three set-ups, run in turns so that
//! whatever else the machine does falls on all three alike:
//!
//! - **off**: no `OTEL_EXPORTER_OTLP_ENDPOINT`, nothing exported;
//! - **collector up**: spans exported to a local sink that accepts every batch;
//! - **collector unreachable**: exported to a closed port, with a small queue that fills.
//!
//! The test in that file guards the same property loosely; this measures it.

use super::stats::Summary;
use crate::{progress, workspace};
use anyhow::{Context, bail};
use std::path::PathBuf;
use std::process::Command;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// Runs of each set-up; the median is reported.
pub const ROUNDS: usize = 5;
/// Requests per run.
pub const REQUESTS: u32 = 2_000;

/// One set-up's figures over the rounds.
pub struct Row {
    pub name: &'static str,
    /// Mean time per request, in microseconds.
    pub per_request_micros: Summary,
    /// Requests per second relative to "off" in the same round (1.0: export costs nothing).
    pub throughput_vs_off: Summary,
    pub dropped_per_run: f64,
}

struct Setup {
    name: &'static str,
    env: Vec<(&'static str, String)>,
}

/// What one run reported.
struct Run {
    mean_seconds: f64,
    dropped: f64,
}

/// Builds the measured server, runs each set-up [`ROUNDS`] times in turns, and prints and
/// returns the figures.
pub async fn measure() -> anyhow::Result<Vec<Row>> {
    progress::step("building the measured server (release)");
    let binary = build_export_test()?;
    let sink = start_sink().await?;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.local_addr()?.port()
    }; // dropped: nothing listens there any more
    let exporting = |endpoint: String| {
        vec![
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
            ("OTEL_BSP_SCHEDULE_DELAY", "20".to_owned()),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "64".to_owned()),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "16".to_owned()),
        ]
    };
    let setups = [
        Setup {
            name: "off",
            env: Vec::new(),
        },
        Setup {
            name: "collector up",
            env: exporting(format!("http://{sink}")),
        },
        Setup {
            name: "collector unreachable",
            env: exporting(format!("http://127.0.0.1:{closed}")),
        },
    ];

    progress::step(&format!(
        "{ROUNDS} rounds of {REQUESTS} requests per set-up, in turns"
    ));
    // A warm-up round, not counted: the first start pays for a cold page cache.
    for setup in &setups {
        measure_once(&binary, setup)?;
    }
    let mut runs: Vec<Vec<Run>> = setups.iter().map(|_| Vec::new()).collect();
    for round in 1..=ROUNDS {
        for (setup, runs) in setups.iter().zip(&mut runs) {
            runs.push(measure_once(&binary, setup)?);
        }
        progress::done(&format!("round {round}"));
    }

    let rows: Vec<Row> = setups
        .iter()
        .zip(&runs)
        .map(|(setup, setup_runs)| {
            let means: Vec<f64> = setup_runs
                .iter()
                .map(|run| run.mean_seconds * 1e6)
                .collect();
            // Per round, so that whatever slowed one round slows both sides of its ratio.
            let ratios: Vec<f64> = setup_runs
                .iter()
                .zip(&runs[0])
                .map(|(run, off)| off.mean_seconds / run.mean_seconds)
                .collect();
            let dropped =
                setup_runs.iter().map(|run| run.dropped).sum::<f64>() / setup_runs.len() as f64;
            Ok(Row {
                name: setup.name,
                per_request_micros: Summary::of(&means).context("no runs")?,
                throughput_vs_off: Summary::of(&ratios).context("no runs")?,
                dropped_per_run: dropped,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    println!("\ntrace export: {REQUESTS} requests a run, median of {ROUNDS} runs, release build\n");
    println!(
        "{:<24}{:>16}{:>22}{:>22}",
        "set-up", "per request", "throughput vs off", "spans dropped a run"
    );
    for row in &rows {
        println!(
            "{:<24}{:>13.1} µs{:>21.2}×{:>22.0}",
            row.name,
            row.per_request_micros.median,
            row.throughput_vs_off.median,
            row.dropped_per_run
        );
    }
    Ok(rows)
}

/// Builds `export_never_blocks` in release mode; the test binary's path.
fn build_export_test() -> anyhow::Result<PathBuf> {
    let output = workspace::cargo_command(&[
        "test",
        "--release",
        "-p",
        "shop-telemetry",
        "--test",
        "export_never_blocks",
        "--no-run",
        "--message-format=json-render-diagnostics",
    ])
    .output()
    .context("cannot run cargo")?;
    if !output.status.success() {
        bail!(
            "building the benchmark failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find_map(|message| {
            let is_test = message["target"]["name"] == "export_never_blocks";
            let executable = message["executable"].as_str()?;
            is_test.then(|| PathBuf::from(executable))
        })
        .context("cargo did not say where the test binary is")
}

/// One run of the child server in `setup`.
fn measure_once(binary: &PathBuf, setup: &Setup) -> anyhow::Result<Run> {
    let output = Command::new(binary)
        .args(["serve_and_measure", "--exact", "--ignored", "--nocapture"])
        .env("SHOP_TELEMETRY_EXPORT_CHILD", "1")
        .env("SHOP_TELEMETRY_EXPORT_REQUESTS", REQUESTS.to_string())
        // Logs go to stdout too: as in the services, and as costly.
        .env("RUST_LOG", "info")
        .envs(setup.env.iter().map(|(name, value)| (name, value)))
        .output()
        .with_context(|| format!("cannot run {}", binary.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!("the measured server failed ({}):\n{stdout}", setup.name);
    }
    let value = |name: &str| -> anyhow::Result<f64> {
        stdout
            .lines()
            .find_map(|line| line.strip_prefix(&format!("MEASURED {name}=")))
            .with_context(|| format!("no {name} in the output of {}", setup.name))?
            .parse()
            .with_context(|| format!("{name} of {} is not a number", setup.name))
    };
    Ok(Run {
        mean_seconds: value("mean")?,
        dropped: value("dropped")?,
    })
}

/// A collector that accepts every OTLP/HTTP batch (`200`, empty body) and keeps nothing.
/// Not `shop_testing::OtlpReceiver`: that one decodes and keeps every span, in this
/// (debug-built) process, on the same two cores as the measured server; with it the
/// "collector up" row measured the receiver (1.26×, spans dropped) more than the export.
async fn start_sink() -> anyhow::Result<std::net::SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((connection, _)) = listener.accept().await {
            tokio::spawn(async move {
                let _ = answer_every_request(connection).await;
            });
        }
    });
    Ok(addr)
}

/// Reads HTTP/1.1 requests off one kept-alive connection and answers each `200`.
async fn answer_every_request(connection: tokio::net::TcpStream) -> std::io::Result<()> {
    let mut connection = BufReader::new(connection);
    loop {
        let mut content_length = 0usize;
        let mut line = String::new();
        loop {
            line.clear();
            if connection.read_line(&mut line).await? == 0 {
                return Ok(()); // the exporter closed the connection
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                content_length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; content_length];
        connection.read_exact(&mut body).await?;
        connection
            .get_mut()
            .write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n",
            )
            .await?;
    }
}
