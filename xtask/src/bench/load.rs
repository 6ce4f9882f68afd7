//! Load: closed-loop throughput with wrk and pgbench (well-kept tools, from Debian), and an
//! open-loop fixed arrival rate generated here (wrk has no fixed rate; wrk2 is not in
//! Debian).

use crate::{postgres, progress, workspace};
use anyhow::{Context, bail};
use std::future::Future;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

/// Connections of both closed-loop tools, as in the table.
pub const CONNECTIONS: u32 = 16;
/// Threads of both tools: one per core of the 2-core machines this runs on.
const THREADS: u32 = 2;

/// `wrk`, installed from Debian when missing (idempotent, as `.ci/run` installs packages).
pub fn wrk() -> anyhow::Result<PathBuf> {
    if let Some(found) = on_path("wrk") {
        return Ok(found);
    }
    progress::note("installing wrk (apt-get install wrk)");
    let install = |args: &[&str]| {
        let mut command = Command::new("apt-get");
        command.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        workspace::run(command)
    };
    if install(&["install", "-y", "-qq", "wrk"]).is_err() {
        install(&["update", "-qq"])?;
        install(&["install", "-y", "-qq", "wrk"])?;
    }
    on_path("wrk").context("wrk is not on PATH after apt-get install wrk")
}

/// `pgbench`: on PATH or in Debian's PostgreSQL layout (package `postgresql`).
pub fn pgbench() -> anyhow::Result<PathBuf> {
    let debian = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin/pgbench"));
    on_path("pgbench")
        .into_iter()
        .chain(debian)
        .find(|path| path.is_file())
        .context("pgbench not found: it comes with PostgreSQL (Debian: apt-get install postgresql)")
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
}

/// What a wrk run measured.
#[derive(Debug, Clone, Copy)]
pub struct WrkRun {
    pub requests_per_second: f64,
    /// Non-2xx/3xx answers and socket errors.
    pub errors: u64,
}

/// `wrk -c16 -t2 -d<seconds>s <url>`.
pub fn run_wrk(wrk: &std::path::Path, url: &str, seconds: u32) -> anyhow::Result<WrkRun> {
    let output = Command::new(wrk)
        .arg(format!("-c{CONNECTIONS}"))
        .arg(format!("-t{THREADS}"))
        .arg(format!("-d{seconds}s"))
        .arg(url)
        .output()
        .context("running wrk")?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "wrk failed: {text}{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    parse_wrk(&text).with_context(|| format!("cannot read wrk's output:\n{text}"))
}

fn parse_wrk(text: &str) -> Option<WrkRun> {
    let requests_per_second = text
        .lines()
        .find_map(|line| line.trim().strip_prefix("Requests/sec:"))?
        .trim()
        .parse()
        .ok()?;
    let mut errors = 0;
    for line in text.lines().map(str::trim) {
        if let Some(count) = line.strip_prefix("Non-2xx or 3xx responses:") {
            errors += count.trim().parse::<u64>().ok()?;
        }
        // "Socket errors: connect 0, read 0, write 0, timeout 0"
        if let Some(kinds) = line.strip_prefix("Socket errors:") {
            for kind in kinds.split(',') {
                errors += kind.split_whitespace().last()?.parse::<u64>().ok()?;
            }
        }
    }
    Some(WrkRun {
        requests_per_second,
        errors,
    })
}

/// A pgbench database of its own (scale 1: 100 000 accounts), dropped by [`drop`](Self::drop).
pub struct PgbenchDatabase {
    binary: PathBuf,
    name: String,
}

impl PgbenchDatabase {
    pub async fn create(name: String) -> anyhow::Result<Self> {
        let binary = pgbench()?;
        let admin = postgres::admin_url();
        let mut conn = sqlx::ConnectOptions::connect(
            &<sqlx::postgres::PgConnectOptions as std::str::FromStr>::from_str(&admin)?,
        )
        .await?;
        let quoted = shop_db::provision::quote_ident(&name);
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {quoted}")))
            .execute(&mut conn)
            .await
            .with_context(|| format!("creating database {name}"))?;
        let database = Self { binary, name };
        let mut init = Command::new(&database.binary);
        init.args(["-i", "-s", "1", "-q"]).arg(database.url()?);
        workspace::run(init)?;
        Ok(database)
    }

    /// The admin URL with this database.
    fn url(&self) -> anyhow::Result<String> {
        with_database(&postgres::admin_url(), &self.name)
    }

    /// `pgbench -S -M prepared -c16 -j2 -T<seconds>`: transactions per second.
    pub fn select_only(&self, seconds: u32) -> anyhow::Result<f64> {
        let output = Command::new(&self.binary)
            .args(["-S", "-M", "prepared", "-n"])
            .arg(format!("-c{CONNECTIONS}"))
            .arg(format!("-j{THREADS}"))
            .arg(format!("-T{seconds}"))
            .arg(self.url()?)
            .output()
            .context("running pgbench")?;
        let text = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            bail!(
                "pgbench failed: {text}{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        parse_pgbench_tps(&text).with_context(|| format!("cannot read pgbench's output:\n{text}"))
    }

    pub async fn drop(self) -> anyhow::Result<()> {
        shop_db::provision::drop_database(&postgres::admin_url(), &self.name).await?;
        Ok(())
    }
}

/// `postgres://u@h:5432/postgres?x=y` with `database` in place of `postgres`.
pub fn with_database(url: &str, database: &str) -> anyhow::Result<String> {
    let (scheme, rest) = url.split_once("://").context("not a URL")?;
    let (authority, query) = match rest.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (rest, None),
    };
    let host = authority
        .split_once('/')
        .map_or(authority, |(host, _)| host);
    Ok(match query {
        Some(query) => format!("{scheme}://{host}/{database}?{query}"),
        None => format!("{scheme}://{host}/{database}"),
    })
}

/// "tps = 13512.3 (without initial connection time)"
fn parse_pgbench_tps(text: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.trim().strip_prefix("tps = "))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// One request of an open-loop run.
#[derive(Debug, Clone)]
pub struct Sample {
    /// When it was due, in seconds from the run's start.
    pub due: f64,
    /// From when it was due (not when it was sent: a late send is the system's delay too)
    /// to its answer, in milliseconds; `None` if it was never sent (too many in flight).
    pub latency_ms: Option<f64>,
    /// What the request reported: `Ok(value)` for an answer as expected.
    pub outcome: Result<String, String>,
}

/// Sends `request(i)` at `rate` a second for `duration`, whatever the answers (an open
/// loop: a slow answer does not slow the arrivals), with at most `max_in_flight` at once
/// and each bounded by the client's timeout.
pub async fn fixed_rate<F, Fut>(
    rate: f64,
    duration: Duration,
    max_in_flight: usize,
    request: F,
) -> Vec<Sample>
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = Result<String, String>> + Send + 'static,
{
    let count = (rate * duration.as_secs_f64()).round() as u64;
    let slots = Arc::new(tokio::sync::Semaphore::new(max_in_flight));
    let start = tokio::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let mut samples = Vec::new();
    for i in 0..count {
        let due_offset = Duration::from_secs_f64(i as f64 / rate);
        let due = start + due_offset;
        tokio::time::sleep_until(due).await;
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            samples.push(Sample {
                due: due_offset.as_secs_f64(),
                latency_ms: None,
                outcome: Err("not sent: too many in flight".to_owned()),
            });
            continue;
        };
        let future = request(i);
        tasks.spawn(async move {
            let outcome = future.await;
            drop(slot);
            Sample {
                due: due_offset.as_secs_f64(),
                latency_ms: Some(due.elapsed().as_secs_f64() * 1e3),
                outcome,
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        if let Ok(sample) = done {
            samples.push(sample);
        }
    }
    samples.sort_by(|a, b| a.due.total_cmp(&b.due));
    samples
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_wrk_and_pgbench_output() {
        let wrk = "Running 10s test @ http://127.0.0.1:1/v1/products/x\n  2 threads and 16 connections\n\
                   Requests/sec:  23950.12\nTransfer/sec:      9.12MB\n";
        let run = parse_wrk(wrk).unwrap();
        assert_eq!((run.requests_per_second, run.errors), (23950.12, 0));
        let failing = format!(
            "{wrk}  Socket errors: connect 0, read 2, write 0, timeout 3\n  Non-2xx or 3xx responses: 5\n"
        );
        assert_eq!(parse_wrk(&failing).unwrap().errors, 10);
        assert!(parse_wrk("no figures").is_none());

        let pgbench = "number of failed transactions: 0 (0.000%)\nlatency average = 1.1 ms\n\
                       initial connection time = 9.8 ms\ntps = 13512.345 (without initial connection time)\n";
        assert_eq!(parse_pgbench_tps(pgbench), Some(13512.345));
        assert_eq!(parse_pgbench_tps("tps = many"), None);
    }

    #[test]
    fn the_pgbench_url_names_its_database() {
        let url = |u| with_database(u, "bench").unwrap();
        assert_eq!(
            url("postgres://postgres@127.0.0.1:5432/postgres"),
            "postgres://postgres@127.0.0.1:5432/bench"
        );
        assert_eq!(
            url("postgres://u:p@db:5432/postgres?sslmode=disable"),
            "postgres://u:p@db:5432/bench?sslmode=disable"
        );
        assert_eq!(url("postgres://u@db"), "postgres://u@db/bench");
    }

    #[tokio::test]
    async fn arrivals_keep_their_rate_and_latency_counts_from_when_they_were_due() {
        let samples = fixed_rate(50.0, Duration::from_millis(400), 3, |i| async move {
            // Every fourth request is slow: the others keep arriving on time.
            let pause = if i % 4 == 0 { 1_000 } else { 5 };
            tokio::time::sleep(Duration::from_millis(pause)).await;
            Ok(i.to_string())
        })
        .await;
        assert_eq!(samples.len(), 20);
        assert!((samples[19].due - 0.38).abs() < 1e-9, "{:?}", samples[19]);
        let fast = samples
            .iter()
            .find(|s| s.outcome.as_deref() == Ok("1"))
            .unwrap();
        let latency = fast.latency_ms.unwrap();
        assert!((5.0..500.0).contains(&latency), "{latency}");
        let slow = samples
            .iter()
            .find(|s| s.outcome.as_deref() == Ok("0"))
            .unwrap();
        assert!(slow.latency_ms.unwrap() >= 1_000.0, "{slow:?}");
        // From 0.16 s the slow 0th, 4th and 8th hold all 3 slots for most of a second: the
        // 9th is counted as not sent rather than sent late.
        assert_eq!(samples[9].latency_ms, None, "{:?}", samples[9]);
        assert!(samples[9].outcome.is_err());
    }
}
