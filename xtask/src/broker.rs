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

/// `KAFKA_FETCH_WAIT_MS` for services consuming from tansu: tansu 0.6 sleeps out a fetch's
/// whole wait even when it has messages, so librdkafka's default (500 ms) made each saga hop
/// take ~400 ms. 20 ms keeps a hop near that, for about 50 fetches a second per idle consumer.
pub const TANSU_FETCH_WAIT_MS: &str = "20";

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
    progress::note(&install_note());
    workspace::run(install_command())?;
    shop_testing::tansu_binary()
}

/// A tansu install running beside other work (see [`start_install_if_missing`]).
pub struct Install {
    child: std::process::Child,
    log: PathBuf,
}

/// On a machine without tansu, starts installing it in the background and returns the
/// install, so that its minutes of compiling overlap with the workspace's own build
/// (`cargo xtask ci` and `test` do this). `None` when it is already there.
pub fn start_install_if_missing() -> anyhow::Result<Option<Install>> {
    if shop_testing::tansu_binary().is_ok() {
        return Ok(None);
    }
    let logs = workspace::state_dir().join("logs");
    std::fs::create_dir_all(&logs)?;
    let log = logs.join("tansu-install.log");
    progress::note(&format!(
        "{}; meanwhile the workspace builds (install log: {})",
        install_note(),
        log.display()
    ));
    let output = std::fs::File::create(&log)?;
    let mut command = install_command();
    command
        .stdin(Stdio::null())
        .stdout(output.try_clone()?)
        .stderr(output);
    let child = command.spawn().context("starting cargo install tansu")?;
    Ok(Some(Install { child, log }))
}

impl Install {
    /// Waits for the install to end; a failure quotes the end of its log.
    pub fn finish(mut self) -> anyhow::Result<()> {
        let status = self
            .child
            .wait()
            .context("waiting for cargo install tansu")?;
        if !status.success() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(30).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            bail!(
                "installing tansu failed ({status}); the end of {}:\n{}",
                self.log.display(),
                tail.join("\n")
            );
        }
        progress::done("tansu installed");
        Ok(())
    }
}

fn install_note() -> String {
    format!(
        "installing tansu {} (a Kafka-compatible broker) from crates.io into {}: \
         about 15 minutes on 2 cores, once",
        shop_testing::TANSU_VERSION,
        shop_testing::tansu_install_root().display()
    )
}

fn install_command() -> Command {
    let mut install = Command::new("cargo");
    install
        .args(["install", "tansu", "--locked"])
        .args(["--version", shop_testing::TANSU_VERSION])
        .args(["--features", shop_testing::TANSU_FEATURES])
        .arg("--root")
        .arg(shop_testing::tansu_install_root());
    install
}

/// Stops the broker if xtask started it.
pub fn stop_if_ours() {
    if let Ok(pid) = std::fs::read_to_string(pid_file()) {
        let _ = Command::new("kill").args(["-TERM", pid.trim()]).status();
        let _ = std::fs::remove_file(pid_file());
    }
}
