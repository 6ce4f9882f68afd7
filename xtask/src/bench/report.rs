//! What `cargo xtask bench` measured, as `docs/benchmarks.md` and SVG plots beside it.
//!
//! The plots are written by hand rather than with a plotting crate (plotters): two simple
//! charts do not justify another dependency tree compiled into xtask, which every
//! `cargo xtask` command builds first.

use super::load::Sample;
use super::stats::{Summary, percentile};
use super::trace_export;
use crate::workspace;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;

const MIB: f64 = 1024.0 * 1024.0;

pub fn mib(bytes: f64) -> f64 {
    bytes / MIB
}

/// Where and on what the bench ran.
pub struct Machine {
    pub date: String,
    pub cpu: String,
    pub cores: usize,
    pub memory: String,
    pub kernel: String,
    pub commit: String,
    pub load_before: String,
}

impl Machine {
    pub fn describe() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|line| line.strip_prefix("model name"))
            .and_then(|rest| rest.split_once(':'))
            .map_or_else(
                || "unknown CPU".to_owned(),
                |(_, name)| name.trim().to_owned(),
            );
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory = meminfo
            .lines()
            .find_map(|line| line.strip_prefix("MemTotal:"))
            .and_then(|kib| kib.split_whitespace().next()?.parse::<f64>().ok())
            .map_or_else(
                || "?".to_owned(),
                |kib| format!("{:.1} GiB", kib / 1024.0 / 1024.0),
            );
        let dirty = !command_output("git", &["status", "--porcelain", "--untracked-files=no"])
            .trim()
            .is_empty();
        let commit = format!(
            "{}{}",
            command_output("git", &["rev-parse", "--short=12", "HEAD"]).trim(),
            if dirty {
                " (with uncommitted changes)"
            } else {
                ""
            }
        );
        Self {
            date: command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"])
                .trim()
                .to_owned(),
            cpu,
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            memory,
            kernel: command_output("uname", &["-sr"]).trim().to_owned(),
            commit,
            load_before: load_average(),
        }
    }
}

fn command_output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .current_dir(workspace::root())
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
        .unwrap_or_default()
}

/// The 1, 5 and 15 minute load averages: how busy the machine was besides the bench.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

pub struct Results {
    pub machine: Machine,
    pub load_after: String,
    pub sizes: Option<Sizes>,
    pub starts: Option<Starts>,
    /// Each service's resident memory 3 s after all five were ready.
    pub idle_together: Vec<(&'static str, u64)>,
    pub catalog: Option<Result<Catalog, String>>,
    pub sign_ups: Option<Result<SignUps, String>>,
    pub checkout: Option<Result<Checkout, String>>,
    pub trace_export: Option<Result<Vec<trace_export::Row>, String>>,
}

impl Results {
    pub fn new(machine: Machine) -> Self {
        Self {
            machine,
            load_after: String::new(),
            sizes: None,
            starts: None,
            idle_together: Vec::new(),
            catalog: None,
            sign_ups: None,
            checkout: None,
            trace_export: None,
        }
    }
}

pub struct Sizes {
    pub binaries: Vec<(&'static str, u64)>,
    /// The runtime image's file system without any service binary, in bytes.
    pub rootfs: Result<u64, String>,
}

pub struct Starts {
    pub per_service: Vec<ServiceStart>,
}

pub struct ServiceStart {
    pub name: &'static str,
    /// The first start, on a fresh database: it applies every migration.
    pub first_ms: Option<f64>,
    pub ready_ms: Option<Summary>,
    pub idle_rss: Option<Summary>,
}

pub struct Catalog {
    pub rounds: Vec<CatalogRound>,
}

pub struct CatalogRound {
    pub product_rps: f64,
    pub product_errors: u64,
    pub pgbench_tps: f64,
    /// The same product from a second catalog process with `RUST_LOG=warn`: no server span
    /// and no access log line.
    pub unlogged_product_rps: f64,
    pub live_rps: f64,
}

pub struct SignUps {
    pub rounds: Vec<SignUpRound>,
    /// The users container's memory limit in docker-compose.yml.
    pub limit: Option<u64>,
}

pub struct SignUpRound {
    /// The users service's settings in this round (`service defaults` counts for the target).
    pub variant: &'static str,
    pub peak_before: u64,
    pub peak: u64,
    pub seconds: f64,
    pub statuses: BTreeMap<String, u32>,
}

pub struct Checkout {
    pub runs: Vec<CheckoutRun>,
    pub seconds: f64,
}

pub struct CheckoutRun {
    pub rate: f64,
    pub samples: Vec<Sample>,
    pub lags: Vec<Lag>,
}

/// One order's way through the saga, in milliseconds.
pub struct Lag {
    /// `OrderPlaced` inserted → recommendations processed `OrderConfirmed`.
    pub total: f64,
    /// `OrderPlaced` inserted → catalog processed it (and reserved the stock).
    pub to_catalog: f64,
    /// → orders processed `StockReserved` (and confirmed the order).
    pub to_orders: f64,
    /// → recommendations processed `OrderConfirmed`.
    pub to_recommendations: f64,
}

impl CheckoutRun {
    fn lag(&self, hop: impl Fn(&Lag) -> f64) -> Vec<f64> {
        self.lags.iter().map(hop).collect()
    }

    fn latencies(&self) -> Vec<f64> {
        self.samples
            .iter()
            .filter(|s| s.outcome.is_ok())
            .filter_map(|s| s.latency_ms)
            .collect()
    }

    fn failures(&self) -> BTreeMap<String, usize> {
        let mut failures = BTreeMap::new();
        for sample in &self.samples {
            if let Err(error) = &sample.outcome {
                *failures.entry(error.clone()).or_insert(0) += 1;
            }
        }
        failures
    }

    fn confirmed(&self) -> usize {
        self.samples.iter().filter(|s| s.outcome.is_ok()).count()
    }
}

pub fn describe_run(run: &CheckoutRun) -> String {
    let latencies = run.latencies();
    let ms = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |v| format!("{v:.1} ms"));
    format!(
        "{} sent, {} accepted, p50 {} p99 {}; lag p50 {} p99 {} ({} of {} orders seen by recommendations){}",
        run.samples.len(),
        run.confirmed(),
        ms(percentile(&latencies, 50.0)),
        ms(percentile(&latencies, 99.0)),
        ms(percentile(&run.lag(|l| l.total), 50.0)),
        ms(percentile(&run.lag(|l| l.total), 99.0)),
        run.lags.len(),
        run.confirmed(),
        if run.failures().is_empty() {
            String::new()
        } else {
            format!("; failures {:?}", run.failures())
        }
    )
}

/// The `memory:` limit of `service` in a compose file, in bytes (`96M` → 96 MiB).
pub fn compose_memory_limit(compose: &str, service: &str) -> Option<u64> {
    let header = format!("  {service}:");
    let mut lines = compose.lines().skip_while(|line| line.trim_end() != header);
    lines.next()?;
    let value = lines
        .take_while(|line| line.starts_with("   ") || line.trim().is_empty())
        .find_map(|line| line.trim().strip_prefix("memory:"))?
        .trim()
        .trim_matches('"');
    let (number, unit) = value.split_at(value.find(|c: char| !c.is_ascii_digit())?);
    let number: u64 = number.parse().ok()?;
    let factor = match unit.to_ascii_lowercase().as_str() {
        "k" | "kb" => 1 << 10,
        "m" | "mb" => 1 << 20,
        "g" | "gb" => 1 << 30,
        _ => return None,
    };
    Some(number * factor)
}

/// Met, missed, or not measured.
fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "**met**",
        Some(false) => "**missed**",
        None => "not measured",
    }
}

fn failed(section: &Option<Result<impl Sized, String>>) -> Option<&str> {
    match section {
        Some(Err(error)) => Some(error),
        _ => None,
    }
}

fn mib_summary(summary: &Summary) -> String {
    summary.show(|v| format!("{:.1}", mib(v)))
}

/// Writes `docs/benchmarks.md` and its plots; the paths written.
pub fn write(results: &Results) -> anyhow::Result<Vec<PathBuf>> {
    let docs = workspace::root().join("docs");
    let plots = docs.join("benchmarks");
    std::fs::create_dir_all(&plots)?;
    let mut written = Vec::new();
    let mut md = String::new();
    let m = &results.machine;
    writeln!(
        md,
        "# Benchmarks\n\n\
         Written by `cargo xtask bench` (`xtask/src/bench.rs`); run it again rather than editing \
         this file. Release builds (`cargo build --release`: thin LTO, one codegen unit), each \
         figure after a warm-up, repeats taken in turns, shown as **median (min–max)** of the \
         runs. Issue 16 set the targets.\n\n\
         - **Date**: {}\n- **Machine**: {}, {} cores, {} memory, {}\n- **Commit**: `{}`\n\
         - **Load average** (1, 5, 15 min) before: {}; after: {}. Other work on this machine \
         shares the cores; ratios taken in turns cancel most of it, absolute figures do not.\n",
        m.date, m.cpu, m.cores, m.memory, m.kernel, m.commit, m.load_before, results.load_after
    )?;

    writeln!(
        md,
        "What limits each missed target, and what would lift it, was worked out from these \
         figures by hand: [benchmarks-limits.md](benchmarks-limits.md).\n"
    )?;
    writeln!(
        md,
        "## Targets\n\n| figure | measured | target | |\n|---|---|---|---|"
    )?;
    summary_rows(&mut md, results)?;

    catalog_section(&mut md, results, &plots, &mut written)?;
    memory_and_start_section(&mut md, results)?;
    sign_up_section(&mut md, results)?;
    checkout_section(&mut md, results, &plots, &mut written)?;
    trace_section(&mut md, results)?;
    writeln!(
        md,
        "## Not measured yet\n\n\
         - Checkout through the web pages (forms, CSRF, cookies): the bench places orders \
         through the storefront's JSON API (`POST /api/orders`), which passes them to orders; \
         the page flow is the load test's (`load-tests/`).\n\
         - The image size is estimated (the file system `cargo xtask image` assembles from \
         `deploy/image/runtime-packages.txt`, plus one binary), not read from a built \
         Docker image: these machines have no Docker engine.\n\
         - Memory is the processes' resident set on this machine, not a container's cgroup \
         accounting (which adds page cache).\n\
         - No CPU profile is taken: where a target is missed, `perf record -g` on the \
         service's pid during the same load shows where the time goes.\n"
    )?;

    let path = docs.join("benchmarks.md");
    std::fs::write(&path, md)?;
    written.insert(0, path);
    Ok(written)
}

fn summary_rows(md: &mut String, results: &Results) -> anyhow::Result<()> {
    // Catalog reads against pgbench.
    match &results.catalog {
        Some(Ok(catalog)) => {
            let ratios: Vec<f64> = catalog
                .rounds
                .iter()
                .map(|r| r.product_rps / r.pgbench_tps)
                .collect();
            let ratio = Summary::of(&ratios);
            writeln!(
                md,
                "| catalog `GET /v1/products/{{id}}` (wrk, 16 connections) ÷ pgbench `-S -M prepared` (16 connections, same Postgres) | {} | ≥ 1.0 | {} |",
                ratio.map_or("–".to_owned(), |r| r.show(|v| format!("{v:.2}"))),
                verdict(ratio.map(|r| r.median >= 1.0))
            )?;
        }
        other => not_measured_row(
            md,
            "catalog product reads ÷ pgbench -S",
            "≥ 1.0",
            failed(other),
        )?,
    }
    // Idle memory, start to ready.
    if let Some(starts) = &results.starts {
        let rss: Vec<(&str, Summary)> = starts
            .per_service
            .iter()
            .filter_map(|s| Some((s.name, s.idle_rss?)))
            .collect();
        let worst = rss.iter().map(|(_, s)| s.median).fold(0.0, f64::max);
        let best = rss.iter().map(|(_, s)| s.median).fold(f64::MAX, f64::min);
        writeln!(
            md,
            "| idle RSS per release service (1 s after ready) | {:.1}–{:.1} MiB (medians; per service below) | ≤ 20 MiB | {} |",
            mib(best),
            mib(worst),
            verdict((!rss.is_empty()).then_some(mib(worst) <= 20.0))
        )?;
    } else {
        not_measured_row(md, "idle RSS per release service", "≤ 20 MiB", None)?;
    }
    match &results.sign_ups {
        Some(Ok(sign_ups)) => {
            let peaks: Vec<f64> = sign_ups
                .rounds
                .iter()
                .filter(|r| r.variant == "service defaults")
                .map(|r| r.peak as f64)
                .collect();
            let peak = Summary::of(&peaks);
            let limit = sign_ups.limit.map(|l| l as f64);
            writeln!(
                md,
                "| users peak RSS (VmHWM), 32 concurrent sign-ups | {} MiB | under its container limit ({}) | {} |",
                peak.as_ref().map_or("–".to_owned(), mib_summary),
                limit.map_or("unknown".to_owned(), |l| format!("{:.0} MiB", mib(l))),
                verdict(peak.zip(limit).map(|(p, l)| p.median < l))
            )?;
        }
        other => not_measured_row(
            md,
            "users peak RSS, 32 sign-ups",
            "under its limit",
            failed(other),
        )?,
    }
    if let Some(starts) = &results.starts {
        let medians: Vec<(&str, f64)> = starts
            .per_service
            .iter()
            .filter_map(|s| Some((s.name, s.ready_ms?.median)))
            .collect();
        let slowest = medians
            .iter()
            .copied()
            .fold(("", 0.0), |a, b| if b.1 > a.1 { b } else { a });
        let fastest = medians
            .iter()
            .copied()
            .fold(("", f64::MAX), |a, b| if b.1 < a.1 { b } else { a });
        writeln!(
            md,
            "| start to ready (spawn → `/health/ready` 200, database migrated) | {:.0} ms ({}) to {:.0} ms ({}), medians | ≤ 300 ms | {} |",
            fastest.1,
            fastest.0,
            slowest.1,
            slowest.0,
            verdict((!medians.is_empty()).then_some(slowest.1 <= 300.0))
        )?;
    }
    if let Some(sizes) = &results.sizes {
        let largest = sizes.binaries.iter().map(|(_, b)| *b).max().unwrap_or(0);
        let smallest = sizes.binaries.iter().map(|(_, b)| *b).min().unwrap_or(0);
        match &sizes.rootfs {
            Ok(rootfs) => writeln!(
                md,
                "| release binary size; image (runtime file system + binary) | {:.1}–{:.1} MB; image ≤ {:.1} MB | image ≤ 40 MB | {} |",
                mb(smallest),
                mb(largest),
                mb(rootfs + largest),
                verdict(Some(mb(rootfs + largest) <= 40.0))
            )?,
            Err(error) => writeln!(
                md,
                "| release binary size | {:.1}–{:.1} MB (image not estimated: {}) | image ≤ 40 MB | not measured |",
                mb(smallest),
                mb(largest),
                one_line(error)
            )?,
        }
    }
    match &results.trace_export {
        Some(Ok(rows)) => {
            for row in rows.iter().skip(1) {
                writeln!(
                    md,
                    "| trace export: throughput with the {} ÷ off | {} | ≥ 0.9 | {} |",
                    row.name,
                    row.throughput_vs_off.show(|v| format!("{v:.2}")),
                    verdict(Some(row.throughput_vs_off.median >= 0.9))
                )?;
            }
        }
        other => not_measured_row(md, "trace export throughput ratio", "≥ 0.9", failed(other))?,
    }
    match &results.checkout {
        Some(Ok(checkout)) => {
            let at = |rate: f64| checkout.runs.iter().filter(move |r| r.rate == rate);
            let p99s: Vec<f64> = at(100.0)
                .filter_map(|r| percentile(&r.latencies(), 99.0))
                .collect();
            let lag99: Vec<f64> = at(100.0)
                .filter_map(|r| percentile(&r.lag(|l| l.total), 99.0))
                .collect();
            let (p99, lag) = (Summary::of(&p99s), Summary::of(&lag99));
            let ms = |s: &Option<Summary>| {
                s.map_or("–".to_owned(), |s| s.show(|v| format!("{v:.0}")) + " ms")
            };
            writeln!(
                md,
                "| checkout (`POST /api/orders` through the storefront) p99 at 100/s | {} | ≤ 50 ms | {} |",
                ms(&p99),
                verdict(p99.map(|s| s.median <= 50.0))
            )?;
            writeln!(
                md,
                "| `OrderPlaced` committed → recommendations updated, p99 (orders at 100/s) | {} | ≤ 100 ms | {} |",
                ms(&lag),
                verdict(lag.map(|s| s.median <= 100.0))
            )?;
        }
        other => not_measured_row(
            md,
            "checkout p99 at 100/s; event lag p99",
            "≤ 50 ms; ≤ 100 ms",
            failed(other),
        )?,
    }
    writeln!(md)?;
    Ok(())
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn one_line(text: &str) -> String {
    text.lines().next().unwrap_or("").replace('|', "/")
}

fn not_measured_row(
    md: &mut String,
    figure: &str,
    target: &str,
    error: Option<&str>,
) -> anyhow::Result<()> {
    writeln!(
        md,
        "| {figure} | {} | {target} | not measured |",
        error.map_or("–".to_owned(), |e| format!("failed: {}", one_line(e)))
    )?;
    Ok(())
}

fn catalog_section(
    md: &mut String,
    results: &Results,
    plots: &std::path::Path,
    written: &mut Vec<PathBuf>,
) -> anyhow::Result<()> {
    let Some(Ok(catalog)) = &results.catalog else {
        return Ok(());
    };
    writeln!(
        md,
        "## Catalog product reads against the database\n\n\
         One product, `wrk -c16 -t2 -d10s`, then `pgbench -S -M prepared -c16 -j2 -T10` on a \
         scratch pgbench database (scale 1) of the same Postgres, then the same product from a \
         second catalog process with `RUST_LOG=warn` (no server spans and no log lines at all; \
         the measured one runs as compose runs it: `info`, JSON, to a file, which records a span \
         per request and logs errors and slow requests), then `/health/live` of the first \
         catalog (the bare HTTP stack, no span), in turns; ratios are per round.\n\n\
         | round | product reads (rps) | errors | pgbench -S (tps) | ratio | with `RUST_LOG=warn` (rps) | its ratio | `/health/live` (rps) |\n|---|---|---|---|---|---|---|---|"
    )?;
    for (i, round) in catalog.rounds.iter().enumerate() {
        writeln!(
            md,
            "| {} | {:.0} | {} | {:.0} | {:.2} | {:.0} | {:.2} | {:.0} |",
            i + 1,
            round.product_rps,
            round.product_errors,
            round.pgbench_tps,
            round.product_rps / round.pgbench_tps,
            round.unlogged_product_rps,
            round.unlogged_product_rps / round.pgbench_tps,
            round.live_rps
        )?;
    }
    let bars: Vec<(&str, Option<Summary>)> = vec![
        (
            "catalog GET /v1/products/{id}",
            Summary::of(
                &catalog
                    .rounds
                    .iter()
                    .map(|r| r.product_rps)
                    .collect::<Vec<_>>(),
            ),
        ),
        (
            "pgbench -S -M prepared",
            Summary::of(
                &catalog
                    .rounds
                    .iter()
                    .map(|r| r.pgbench_tps)
                    .collect::<Vec<_>>(),
            ),
        ),
        (
            "same, RUST_LOG=warn",
            Summary::of(
                &catalog
                    .rounds
                    .iter()
                    .map(|r| r.unlogged_product_rps)
                    .collect::<Vec<_>>(),
            ),
        ),
        (
            "catalog /health/live",
            Summary::of(
                &catalog
                    .rounds
                    .iter()
                    .map(|r| r.live_rps)
                    .collect::<Vec<_>>(),
            ),
        ),
    ];
    let svg = bar_chart(
        "Throughput per set-up, 16 connections (median, min–max)",
        "requests (transactions) per second",
        &bars,
    );
    let path = plots.join("throughput.svg");
    std::fs::write(&path, svg)?;
    written.push(path);
    writeln!(
        md,
        "\n![throughput per set-up](benchmarks/throughput.svg)\n"
    )?;
    Ok(())
}

fn memory_and_start_section(md: &mut String, results: &Results) -> anyhow::Result<()> {
    let Some(starts) = &results.starts else {
        return Ok(());
    };
    writeln!(
        md,
        "## Start, memory and size per service\n\n\
         Each service alone, started {} times in turns after a first start that migrated a \
         fresh schema: from the process spawn to `/health/ready` answering 200 (polled every \
         2 ms), and its resident memory (`VmRSS`) 1 s later. \"Together\": `VmRSS` 3 s after all \
         five were ready, connected to each other and to the broker.\n\n\
         | service | first start (migrating) | start to ready | idle RSS alone (MiB) | idle RSS together (MiB) | release binary (MB) |\n|---|---|---|---|---|---|",
        starts
            .per_service
            .first()
            .and_then(|s| s.ready_ms)
            .map_or(0, |s| s.runs)
    )?;
    for service in &starts.per_service {
        let together = results
            .idle_together
            .iter()
            .find(|(name, _)| *name == service.name)
            .map_or("–".to_owned(), |(_, rss)| {
                format!("{:.1}", mib(*rss as f64))
            });
        let binary = results
            .sizes
            .as_ref()
            .and_then(|s| s.binaries.iter().find(|(n, _)| *n == service.name))
            .map_or("–".to_owned(), |(_, b)| format!("{:.1}", mb(*b)));
        writeln!(
            md,
            "| {} | {} | {} | {} | {together} | {binary} |",
            service.name,
            service
                .first_ms
                .map_or("–".to_owned(), |v| format!("{v:.0} ms")),
            service
                .ready_ms
                .map_or("–".to_owned(), |s| s.show(|v| format!("{v:.0}")) + " ms"),
            service
                .idle_rss
                .as_ref()
                .map_or("–".to_owned(), mib_summary),
        )?;
    }
    if let Some(sizes) = &results.sizes {
        match &sizes.rootfs {
            Ok(rootfs) => writeln!(
                md,
                "\nThe runtime image's file system (`deploy/image/runtime-packages.txt`, as \
                 `cargo xtask image` assembles it): {:.1} MB; with the largest binary, an image of \
                 about {:.1} MB (uncompressed).",
                mb(*rootfs),
                mb(rootfs + sizes.binaries.iter().map(|(_, b)| *b).max().unwrap_or(0))
            )?,
            Err(error) => writeln!(md, "\nThe image was not estimated: {}", one_line(error))?,
        }
    }
    writeln!(md)?;
    Ok(())
}

fn sign_up_section(md: &mut String, results: &Results) -> anyhow::Result<()> {
    let Some(Ok(sign_ups)) = &results.sign_ups else {
        return Ok(());
    };
    writeln!(
        md,
        "## Users: 32 sign-ups at once\n\n\
         A freshly started users service (`PASSWORD_HASH_CONCURRENCY` 2, the default), \
         then 32 `POST /v1/users` with unique addresses sent together; peak resident memory \
         is the process' `VmHWM`. Rounds alternate the service's defaults (which the target \
         counts) with glibc's `MALLOC_MMAP_THRESHOLD_` fixed at 1 MiB, which makes every \
         19 MiB Argon2 block a mapping of its own, returned to the system when freed.\n\n\
         | round | users settings | peak before (MiB) | peak after (MiB) | answers | burst took |\n|---|---|---|---|---|---|"
    )?;
    for (i, round) in sign_ups.rounds.iter().enumerate() {
        let answers: Vec<String> = round
            .statuses
            .iter()
            .map(|(status, count)| format!("{count}× {status}"))
            .collect();
        writeln!(
            md,
            "| {} | {} | {:.1} | {:.1} | {} | {:.2} s |",
            i / 2 + 1,
            round.variant,
            mib(round.peak_before as f64),
            mib(round.peak as f64),
            answers.join(", "),
            round.seconds
        )?;
    }
    writeln!(md)?;
    Ok(())
}

fn checkout_section(
    md: &mut String,
    results: &Results,
    plots: &std::path::Path,
    written: &mut Vec<PathBuf>,
) -> anyhow::Result<()> {
    let Some(Ok(checkout)) = &results.checkout else {
        return Ok(());
    };
    writeln!(
        md,
        "## Checkout at a fixed arrival rate, and the event lag\n\n\
         All five services running. One signed-in shopper places orders of two products \
         through the storefront (`POST /api/orders`, which forwards to orders: token check, \
         pricing, the order and its `OrderPlaced` in one transaction) at a fixed rate for \
         {:.0} s, whatever the answers (an open loop, at most 256 in flight, 5 s timeout); \
         latency counts from when a request was due. Stock is topped up first, so every order \
         is confirmed. **Event lag**: from the `OrderPlaced` outbox row (inserted in the \
         placing transaction) to recommendations' `processed_events` row for that order's \
         `OrderConfirmed` (the transaction that updates co-purchase pairs and popularity), \
         both from Postgres' clock; it spans the saga: orders' relay → catalog reserves stock \
         → `StockReserved` → orders confirms → `OrderConfirmed` → recommendations.\n\n\
         | run | rate | sent | accepted | p50 | p99 | max | event lag p50 | p99 | orders seen by recommendations | lag p50 by hop: → catalog, → orders, → recommendations |\n|---|---|---|---|---|---|---|---|---|---|---|",
        checkout.seconds
    )?;
    let ms = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |v| format!("{v:.1} ms"));
    for (i, run) in checkout.runs.iter().enumerate() {
        let latencies = run.latencies();
        writeln!(
            md,
            "| {} | {:.0}/s | {} | {} | {} | {} | {} | {} | {} | {} of {} | {} / {} / {} |",
            i + 1,
            run.rate,
            run.samples.len(),
            run.confirmed(),
            ms(percentile(&latencies, 50.0)),
            ms(percentile(&latencies, 99.0)),
            ms(percentile(&latencies, 100.0)),
            ms(percentile(&run.lag(|l| l.total), 50.0)),
            ms(percentile(&run.lag(|l| l.total), 99.0)),
            run.lags.len(),
            run.confirmed(),
            ms(percentile(&run.lag(|l| l.to_catalog), 50.0)),
            ms(percentile(&run.lag(|l| l.to_orders), 50.0)),
            ms(percentile(&run.lag(|l| l.to_recommendations), 50.0)),
        )?;
    }
    let failures: Vec<String> = checkout
        .runs
        .iter()
        .enumerate()
        .filter(|(_, run)| !run.failures().is_empty())
        .map(|(i, run)| format!("run {}: {:?}", i + 1, run.failures()))
        .collect();
    if !failures.is_empty() {
        writeln!(md, "\nFailed checkouts: {}.", failures.join("; "))?;
    }
    // The last run at each rate, drawn over time.
    let colours = ["#1f77b4", "#d62728", "#2ca02c"];
    let mut series = Vec::new();
    let mut rates: Vec<f64> = checkout.runs.iter().map(|r| r.rate).collect();
    rates.dedup();
    for (rate, colour) in rates.iter().zip(colours) {
        if let Some(run) = checkout.runs.iter().rev().find(|r| r.rate == *rate) {
            let points: Vec<(f64, f64)> = run
                .samples
                .iter()
                .filter(|s| s.outcome.is_ok())
                .filter_map(|s| Some((s.due, s.latency_ms?)))
                .collect();
            series.push((format!("{rate:.0}/s"), colour, points));
        }
    }
    let svg = latency_plot(
        "Checkout latency over time under a fixed arrival rate (last run at each rate)",
        checkout.seconds,
        &series,
        Some((50.0, "target p99 at 100/s: 50 ms")),
    );
    let path = plots.join("checkout-latency.svg");
    std::fs::write(&path, svg)?;
    written.push(path);
    writeln!(
        md,
        "\n![checkout latency over time](benchmarks/checkout-latency.svg)\n"
    )?;
    Ok(())
}

fn trace_section(md: &mut String, results: &Results) -> anyhow::Result<()> {
    let Some(Ok(rows)) = &results.trace_export else {
        return Ok(());
    };
    writeln!(
        md,
        "## Trace export\n\n\
         The same release-built server (the child mode of \
         `libs/shop-telemetry/tests/export_never_blocks.rs`: the real middleware, a handler \
         with a span and a log line) answers {} requests a run, {} runs of each set-up in \
         turns: no export; spans exported to a local sink that accepts every batch; exported \
         to a closed port with a small queue that fills.\n\n\
         | set-up | per request | throughput vs off | spans dropped a run |\n|---|---|---|---|",
        trace_export::REQUESTS,
        trace_export::ROUNDS
    )?;
    for row in rows {
        writeln!(
            md,
            "| {} | {} µs | {} | {:.0} |",
            row.name,
            row.per_request_micros.show(|v| format!("{v:.1}")),
            row.throughput_vs_off.show(|v| format!("{v:.2}")),
            row.dropped_per_run
        )?;
    }
    writeln!(md)?;
    Ok(())
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Horizontal bars (the median) with a whisker from min to max.
pub fn bar_chart(title: &str, axis: &str, bars: &[(&str, Option<Summary>)]) -> String {
    let (width, left, right, top, row) = (760.0, 230.0, 40.0, 50.0, 44.0);
    let height = top + row * bars.len() as f64 + 50.0;
    let max = bars
        .iter()
        .filter_map(|(_, s)| s.map(|s| s.max))
        .fold(0.0, f64::max)
        .max(1.0);
    let scale = nice_ceiling(max);
    let x = |v: f64| left + (width - left - right) * v / scale;
    let mut svg = svg_header(width, height, title);
    for tick in 0..=4 {
        let value = scale * f64::from(tick) / 4.0;
        let _ = write!(
            svg,
            r##"<line x1="{0:.1}" y1="{top}" x2="{0:.1}" y2="{1:.1}" stroke="#ddd"/><text x="{0:.1}" y="{2:.1}" text-anchor="middle">{3:.0}</text>"##,
            x(value),
            height - 40.0,
            height - 24.0,
            value
        );
    }
    let _ = write!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
        left + (width - left - right) / 2.0,
        height - 6.0,
        escape(axis)
    );
    for (i, (label, summary)) in bars.iter().enumerate() {
        let y = top + row * i as f64 + 8.0;
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            left - 8.0,
            y + 18.0,
            escape(label)
        );
        if let Some(s) = summary {
            let _ = write!(
                svg,
                r##"<rect x="{left}" y="{y:.1}" width="{:.1}" height="26" fill="#4c78a8"/><line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#222" stroke-width="2"/><text x="{:.1}" y="{:.1}">{:.0}</text>"##,
                x(s.median) - left,
                x(s.min),
                y + 13.0,
                x(s.max),
                y + 13.0,
                x(s.max) + 6.0,
                y + 18.0,
                s.median
            );
        }
    }
    svg.push_str("</svg>\n");
    svg
}

/// A plotted series: its legend, its colour, and its (seconds, milliseconds) points.
pub type Series<'a> = (String, &'a str, Vec<(f64, f64)>);

/// Each request's latency (log scale) against when it was due.
pub fn latency_plot(
    title: &str,
    seconds: f64,
    series: &[Series<'_>],
    target: Option<(f64, &str)>,
) -> String {
    let (width, height, left, right, top, bottom) = (760.0, 420.0, 70.0, 150.0, 50.0, 50.0);
    let highest = series
        .iter()
        .flat_map(|(_, _, points)| points.iter().map(|(_, y)| *y))
        .fold(10.0, f64::max);
    let decades = highest.log10().ceil().max(1.0);
    let plot_width = width - left - right;
    let plot_height = height - top - bottom;
    let x = |t: f64| left + plot_width * (t / seconds).clamp(0.0, 1.0);
    let y = |ms: f64| top + plot_height * (1.0 - (ms.max(1.0).log10() / decades));
    let mut svg = svg_header(width, height, title);
    for decade in 0..=decades as i32 {
        let value = 10f64.powi(decade);
        let _ = write!(
            svg,
            r##"<line x1="{left}" y1="{0:.1}" x2="{1:.1}" y2="{0:.1}" stroke="#ddd"/><text x="{2:.1}" y="{3:.1}" text-anchor="end">{value} ms</text>"##,
            y(value),
            left + plot_width,
            left - 6.0,
            y(value) + 4.0
        );
    }
    let steps = seconds.ceil() as i32;
    for second in (0..=steps).step_by(if steps > 10 { 5 } else { 1 }) {
        let t = f64::from(second);
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{second}</text>"#,
            x(t),
            top + plot_height + 18.0
        );
    }
    let _ = write!(
        svg,
        r##"<rect x="{left}" y="{top}" width="{plot_width}" height="{plot_height}" fill="none" stroke="#888"/><text x="{:.1}" y="{:.1}" text-anchor="middle">seconds into the run (when each request was due)</text>"##,
        left + plot_width / 2.0,
        height - 10.0
    );
    if let Some((ms, label)) = target {
        let _ = write!(
            svg,
            r##"<line x1="{left}" y1="{0:.1}" x2="{1:.1}" y2="{0:.1}" stroke="#000" stroke-dasharray="6 4"/><text x="{2:.1}" y="{3:.1}">{4}</text>"##,
            y(ms),
            left + plot_width,
            left + plot_width + 6.0,
            y(ms) + 4.0,
            escape(label)
        );
    }
    for (i, (label, colour, points)) in series.iter().enumerate() {
        for (t, ms) in points {
            let _ = write!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="1.6" fill="{colour}" fill-opacity="0.6"/>"#,
                x(*t),
                y(*ms)
            );
        }
        let legend_y = top + 40.0 + 20.0 * i as f64;
        let _ = write!(
            svg,
            r#"<circle cx="{:.1}" cy="{:.1}" r="5" fill="{colour}"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            left + plot_width + 12.0,
            legend_y,
            left + plot_width + 22.0,
            legend_y + 4.0,
            escape(label)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

fn svg_header(width: f64, height: f64, title: &str) -> String {
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="#fff"/><text x="{:.1}" y="24" text-anchor="middle" font-size="15">{}</text>"##,
        width / 2.0,
        escape(title)
    )
}

/// 1, 2 or 5 times a power of ten, at least `value`: a round end for an axis.
fn nice_ceiling(value: f64) -> f64 {
    let power = 10f64.powf(value.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|candidate| *candidate >= value)
        .unwrap_or(10.0 * power)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_users_memory_limit_from_compose() {
        let compose = "services:\n  users:\n    image: x\n    deploy:\n      resources:\n        limits:\n          memory: 96M\n  catalog:\n    deploy:\n      resources:\n        limits:\n          memory: 1G\n";
        assert_eq!(compose_memory_limit(compose, "users"), Some(96 << 20));
        assert_eq!(compose_memory_limit(compose, "catalog"), Some(1 << 30));
        assert_eq!(compose_memory_limit(compose, "orders"), None);
        let committed =
            std::fs::read_to_string(workspace::root().join("docker-compose.yml")).unwrap();
        let limit = compose_memory_limit(&committed, "users").expect("the users limit");
        assert!((32 << 20..=1 << 30).contains(&limit), "{limit}");
    }

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(nice_ceiling(23_950.0), 50_000.0);
        assert_eq!(nice_ceiling(13_500.0), 20_000.0);
        assert_eq!(nice_ceiling(100.0), 100.0);
        assert_eq!(nice_ceiling(0.7), 1.0);
    }

    #[test]
    fn the_plots_are_svg_documents_with_their_data() {
        let summary = Summary::of(&[10.0, 20.0, 30.0]);
        let bars = bar_chart("T <1>", "rps", &[("a & b", summary), ("missing", None)]);
        assert!(bars.starts_with("<svg") && bars.trim_end().ends_with("</svg>"));
        assert!(bars.contains("a &amp; b") && bars.contains("T &lt;1&gt;"));
        assert_eq!(
            bars.matches("<rect x=").count(),
            1,
            "one bar, for the measured set-up"
        );

        let series = vec![("100/s".to_owned(), "#000", vec![(0.0, 3.0), (1.0, 250.0)])];
        let plot = latency_plot("latency", 10.0, &series, Some((50.0, "target")));
        assert_eq!(plot.matches("r=\"1.6\"").count(), 2);
        assert!(plot.contains("1000 ms"), "the axis reaches above 250 ms");
    }
}
