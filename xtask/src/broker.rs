//! The Kafka broker: whatever answers at `KAFKA_BROKERS`, or else tansu, a single-binary
//! Kafka-compatible broker from crates.io, installed and started on demand.
//!
//! It keeps its data in memory: a restart is a broker that lost everything, which the
//! services must (and do) recover from by creating their topics again and publishing their
//! outboxes again. tansu 0.6's durable SQLite engine was tried and is not used: after a
//! restart, the first produce of an idempotent producer from before it panics the storage
//! task (`lite.rs:503 "more or less than one row"` in `idempotent_message_check`), and the
//! broker then answers every request with an error until it is killed.

use crate::{progress, workspace};
use anyhow::{Context, bail};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

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

pub async fn ensure_running() -> anyhow::Result<()> {
    if answers().await {
        progress::done(&format!("answers at {}", address()));
        return Ok(());
    }
    let tansu = tansu_binary()?;
    let logs = workspace::state_dir().join("logs");
    std::fs::create_dir_all(&logs)?;
    std::fs::create_dir_all(pid_file().parent().context("pid dir")?)?;
    let log = std::fs::File::create(logs.join("tansu.log"))?;
    let listener = format!("tcp://{}", address());
    let mut command = Command::new(&tansu);
    command
        .args(["broker", "--listener-url", &listener])
        .args(["--advertised-listener-url", &listener])
        .args(["--storage-engine", "memory://tansu/"])
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
            progress::done(&format!(
                "tansu started at {} (logs: target/harbor/logs/tansu.log)",
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

/// The tansu every test and demo runs (`shop_testing::tansu_binary`), installing it once
/// from crates.io if missing.
pub fn tansu_binary() -> anyhow::Result<PathBuf> {
    if let Ok(found) = shop_testing::tansu_binary() {
        return Ok(found);
    }
    let root = shop_testing::tansu_install_root();
    progress::note(&format!(
        "installing tansu {} (a Kafka-compatible broker) from crates.io into {}: \
         about 15 minutes on 2 cores, once",
        shop_testing::TANSU_VERSION,
        root.display()
    ));
    workspace::run({
        let mut install = Command::new("cargo");
        install
            .args(["install", "tansu", "--locked"])
            .args(["--version", shop_testing::TANSU_VERSION])
            .args(["--features", shop_testing::TANSU_FEATURES])
            .arg("--root")
            .arg(&root);
        install
    })?;
    shop_testing::tansu_binary()
}

/// Stops the broker if xtask started it.
pub fn stop_if_ours() {
    if let Ok(pid) = std::fs::read_to_string(pid_file()) {
        let _ = Command::new("kill").args(["-TERM", pid.trim()]).status();
        let _ = std::fs::remove_file(pid_file());
    }
}
