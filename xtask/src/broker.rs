//! The Kafka broker: whatever answers at `KAFKA_BROKERS`, or else tansu, a single-binary
//! Kafka-compatible broker from crates.io, installed and started on demand, keeping its
//! data in SQLite under `target/harbor/tansu/` (`cargo xtask down` keeps it too).

use crate::{progress, workspace};
use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
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
    let mut command = durable_broker(
        &tansu,
        &format!("tcp://{}", address()),
        &workspace::state_dir(),
    )?;
    command
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

/// tansu listening (and advertising) `listener`, keeping its data in SQLite at
/// `<dir>/tansu/broker.db`. SQLite keeps topics, messages and committed offsets across a
/// restart, as Kafka's volume does in compose: a killed broker loses nothing. (tansu
/// resolves the path against its working directory, hence `current_dir`.)
fn durable_broker(tansu: &Path, listener: &str, dir: &Path) -> anyhow::Result<Command> {
    std::fs::create_dir_all(dir.join("tansu"))?;
    let mut command = Command::new(tansu);
    command
        .current_dir(dir)
        .args(["broker", "--listener-url", listener])
        .args(["--advertised-listener-url", listener])
        .args(["--storage-engine", "sqlite://tansu/broker.db"]);
    Ok(command)
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

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::ClientConfig;
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    use rdkafka::consumer::{Consumer, StreamConsumer};
    use rdkafka::message::Message;
    use rdkafka::producer::{FutureProducer, FutureRecord};
    use std::collections::BTreeSet;

    async fn start(dir: &Path, port: u16) -> std::process::Child {
        let tansu = shop_testing::tansu_binary().expect("tansu (cargo xtask test installs it)");
        let log = std::fs::File::create(dir.join("tansu.log")).expect("log");
        let mut command =
            durable_broker(&tansu, &format!("tcp://127.0.0.1:{port}"), dir).expect("command");
        command.stdout(log.try_clone().expect("log")).stderr(log);
        let mut child = command.spawn().expect("tansu starts");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return child;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("tansu did not listen on {port}");
    }

    /// The demo's broker, killed with SIGKILL mid-life, comes back with every topic and
    /// every acknowledged message (the memory engine tansu used before lost them all).
    #[tokio::test]
    async fn a_killed_broker_keeps_its_topics_and_messages() {
        let dir = std::env::temp_dir().join(format!("harbor-durable-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let brokers = format!("127.0.0.1:{port}");
        let mut broker = start(&dir, port).await;

        let admin: AdminClient<_> = ClientConfig::new()
            .set("bootstrap.servers", &brokers)
            .create()
            .expect("admin");
        let topic = "durable.events";
        admin
            .create_topics(
                &[NewTopic::new(topic, 3, TopicReplication::Fixed(1))],
                &AdminOptions::new(),
            )
            .await
            .expect("create topic");
        let producer: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", &brokers)
            .set("enable.idempotence", "true")
            .create()
            .expect("producer");
        let sent: BTreeSet<String> = (0..20).map(|i| format!("event-{i}")).collect();
        for payload in &sent {
            producer
                .send(
                    FutureRecord::to(topic).key(payload).payload(payload),
                    Duration::from_secs(10),
                )
                .await
                .map_err(|(error, _)| error)
                .expect("acknowledged");
        }
        drop(producer);

        broker.kill().expect("SIGKILL");
        broker.wait().expect("reaped");
        let mut broker = start(&dir, port).await;

        let consumer: StreamConsumer = ClientConfig::new()
            .set("bootstrap.servers", &brokers)
            .set("group.id", "durable-reader")
            .set("auto.offset.reset", "earliest")
            .create()
            .expect("consumer");
        // Assigned, not subscribed: no group to join, only the log to read from the start.
        let mut partitions = rdkafka::TopicPartitionList::new();
        for partition in 0..3 {
            partitions
                .add_partition_offset(topic, partition, rdkafka::Offset::Beginning)
                .expect("partition");
        }
        consumer.assign(&partitions).expect("assign");
        let mut received = BTreeSet::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while received.len() < sent.len() && tokio::time::Instant::now() < deadline {
            if let Ok(Ok(message)) =
                tokio::time::timeout(Duration::from_secs(1), consumer.recv()).await
                && let Some(Ok(payload)) = message.payload_view::<str>()
            {
                received.insert(payload.to_owned());
            }
        }
        // Clients first: an rdkafka client dropped after its broker waits for it in vain.
        drop(consumer);
        drop(admin);
        let _ = broker.kill();
        let _ = broker.wait();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(
            received, sent,
            "every acknowledged message survives SIGKILL"
        );
    }
}
