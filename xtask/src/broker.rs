//! The Kafka broker: whatever answers at `KAFKA_BROKERS`, or else tansu, a single-binary
//! Kafka-compatible broker from crates.io, installed and started on demand, keeping its
//! data in SQLite under `target/harbor/tansu/` (`cargo xtask down` keeps it too).

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
    // SQLite keeps topics, messages and committed offsets across a restart, as Kafka's
    // volume does in compose: a killed broker loses nothing. tansu resolves the path
    // against its working directory: target/harbor/tansu/broker.db.
    let data = workspace::state_dir().join("tansu");
    std::fs::create_dir_all(&data)?;
    let mut command = Command::new(&tansu);
    command
        .current_dir(workspace::state_dir())
        .args(["broker", "--listener-url", &listener])
        .args(["--advertised-listener-url", &listener])
        .args(["--storage-engine", "sqlite://tansu/broker.db"])
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
fn tansu_binary() -> anyhow::Result<PathBuf> {
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
