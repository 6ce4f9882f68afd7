//! The Kafka broker: whatever answers at `KAFKA_BROKERS`, or else tansu, a single-binary
//! Kafka-compatible broker from crates.io, built (see [`crate::tansu`]) and started on demand.
//!
//! Two ways to keep its data ([`Storage`]):
//! - **Durable**, for the demo (`cargo xtask up`, `infra`, `chaos`): tansu's Postgres engine,
//!   in a database of its own (`harbor_broker`) on the shop's server, as Kafka keeps its log
//!   on a volume in compose. Killing and restarting the broker loses nothing: topics keep
//!   their ids, consumer groups their offsets.
//! - **In memory**, for the test suites' shared broker (`cargo xtask test`): faster, and each
//!   test has topics of its own anyway. A restart is then a broker that lost everything,
//!   which the services recover from too (drilled by the `broker_lost` tests).
//!
//! tansu 0.6's SQLite engine was tried and is not used: after a restart, the first produce
//! of an idempotent producer from before it panics its storage task (`lite.rs:503`), and
//! the broker then fails every request until it is killed.

use crate::{postgres, progress, tansu, workspace};
use anyhow::{Context, bail};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

/// `KAFKA_FETCH_WAIT_MS` for services consuming from tansu: tansu 0.6 sleeps out a fetch's
/// whole wait even when it has messages, so librdkafka's default (500 ms) made each saga hop
/// take ~400 ms. 20 ms keeps a hop near that, for about 50 fetches a second per idle consumer.
pub const TANSU_FETCH_WAIT_MS: &str = "20";

/// The database the durable broker keeps its topics, messages and offsets in.
pub const BROKER_DATABASE: &str = "harbor_broker";

/// Where a tansu that xtask starts keeps its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// Postgres ([`BROKER_DATABASE`]): survives a restart of the broker.
    Durable,
    /// Memory: gone with the process.
    Memory,
}

/// The first of `KAFKA_BROKERS` (default `127.0.0.1:9092`).
pub fn address() -> String {
    std::env::var("KAFKA_BROKERS")
        .ok()
        .and_then(|list| list.split(',').next().map(|s| s.trim().to_owned()))
        .filter(|addr| !addr.is_empty())
        .unwrap_or_else(|| "127.0.0.1:9092".to_owned())
}

async fn answers() -> bool {
    matches!(
        tokio::time::timeout(
            Duration::from_secs(2),
            tokio::net::TcpStream::connect(address())
        )
        .await,
        Ok(Ok(_))
    )
}

/// Starts tansu on `storage` unless a broker already answers (whichever way it keeps data).
pub async fn ensure_running(storage: Storage) -> anyhow::Result<()> {
    if answers().await {
        progress::done(&format!("answers at {}", address()));
        return Ok(());
    }
    let tansu = tansu::binary()?;
    let engine = match storage {
        Storage::Durable => {
            shop_testing::tansu_durable_store(&postgres::admin_url(), BROKER_DATABASE).await?
        }
        Storage::Memory => "memory://tansu/".to_owned(),
    };
    let logs = workspace::state_dir().join("logs");
    std::fs::create_dir_all(&logs)?;
    std::fs::create_dir_all(pid_file().parent().context("pid dir")?)?;
    let log = std::fs::File::options()
        .create(true)
        .append(true)
        .open(logs.join("tansu.log"))?;
    let listener = format!("tcp://{}", address());
    let mut command = Command::new(&tansu);
    command
        .args(["broker", "--listener-url", &listener])
        .args(["--advertised-listener-url", &listener])
        .args(["--storage-engine", &engine])
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    // Its own process group: a Ctrl-C meant for `xtask test` must not kill the broker that
    // `xtask infra` left running for the next command.
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let child = command
        .spawn()
        .with_context(|| format!("starting {}", tansu.display()))?;
    std::fs::write(pid_file(), child.id().to_string())?;
    for _ in 0..60 {
        if answers().await {
            let kept = match storage {
                Storage::Durable => format!("data in database `{BROKER_DATABASE}`"),
                Storage::Memory => "data in memory".to_owned(),
            };
            progress::done(&format!(
                "tansu started at {} ({kept}; logs: target/harbor/logs/tansu.log)",
                address()
            ));
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    bail!(
        "tansu did not start listening at {}: see target/harbor/logs/tansu.log",
        address()
    )
}

fn pid_file() -> PathBuf {
    workspace::state_dir().join("pids").join("tansu.pid")
}

/// Stops the broker if xtask started it.
pub fn stop_if_ours() {
    if let Ok(pid) = std::fs::read_to_string(pid_file()) {
        let _ = Command::new("kill").args(["-TERM", pid.trim()]).status();
        let _ = std::fs::remove_file(pid_file());
    }
}
