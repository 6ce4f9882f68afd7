//! The five release-built services for the benchmark: ports of their own (never `up`'s fixed
//! ones), a scratch database, a private broker, logs under `target/harbor/bench/`.

use crate::services::{Profile, SERVICES};
use crate::{postgres, workspace};
use anyhow::{Context, bail};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free port of this machine, chosen by the kernel.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

pub fn log_dir() -> PathBuf {
    workspace::state_dir().join("bench")
}

/// A tansu broker of the benchmark's own (in memory), so that its topics and load touch
/// no other broker on the machine. Killed on drop.
pub struct Broker {
    child: Child,
    pub address: String,
}

impl Broker {
    pub async fn start() -> anyhow::Result<Self> {
        let address = format!("127.0.0.1:{}", free_port()?);
        std::fs::create_dir_all(log_dir())?;
        let log = std::fs::File::create(log_dir().join("tansu.log"))?;
        let listener = format!("tcp://{address}");
        let child = Command::new(crate::tansu::binary()?)
            .args(["broker", "--listener-url", &listener])
            .args(["--advertised-listener-url", &listener])
            .args(["--storage-engine", "memory://tansu/"])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting tansu")?;
        let broker = Self { child, address };
        let deadline = Instant::now() + Duration::from_secs(15);
        while tokio::net::TcpStream::connect(&broker.address)
            .await
            .is_err()
        {
            if Instant::now() > deadline {
                bail!("tansu did not listen at {}", broker.address);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(broker)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where each service listens, and the environment each one gets.
pub struct Layout {
    pub ports: BTreeMap<&'static str, u16>,
    env: BTreeMap<&'static str, Vec<(String, String)>>,
}

impl Layout {
    /// Each service on a free port, against `database` and `broker`, with compose's log
    /// settings (JSON at `info`) and no trace export.
    pub fn new(database: &str, broker: &str) -> anyhow::Result<Self> {
        let mut ports = BTreeMap::new();
        for service in SERVICES {
            ports.insert(service.name, free_port()?);
        }
        let url = |name: &str| format!("http://127.0.0.1:{}", ports[name]);
        let jwks = format!("{}/.well-known/jwks.json", url("users"));
        let mut env = BTreeMap::new();
        for service in SERVICES {
            let mut vars = vec![
                (
                    "LISTEN_ADDR".to_owned(),
                    format!("127.0.0.1:{}", ports[service.name]),
                ),
                ("RUST_LOG".to_owned(), "info".to_owned()),
                ("LOG_FORMAT".to_owned(), "json".to_owned()),
                ("KAFKA_BROKERS".to_owned(), broker.to_owned()),
                ("JWKS_URL".to_owned(), jwks.clone()),
            ];
            if let Some(schema) = service.schema {
                vars.push((
                    "DATABASE_URL".to_owned(),
                    postgres::service_url(schema, database)?,
                ));
                vars.push((
                    "KAFKA_FETCH_WAIT_MS".to_owned(),
                    crate::broker::TANSU_FETCH_WAIT_MS.to_owned(),
                ));
            }
            match service.name {
                "orders" => vars.push(("CATALOG_URL".to_owned(), url("catalog"))),
                "storefront" => {
                    for (variable, upstream) in [
                        ("USERS_URL", "users"),
                        ("CATALOG_URL", "catalog"),
                        ("ORDERS_URL", "orders"),
                        ("RECOMMENDATIONS_URL", "recommendations"),
                    ] {
                        vars.push((variable.to_owned(), url(upstream)));
                    }
                }
                _ => {}
            }
            env.insert(service.name, vars);
        }
        Ok(Self { ports, env })
    }

    pub fn url(&self, name: &str, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.ports[name])
    }

    /// Starts `name`'s release binary, appending its output to its log.
    pub fn spawn(&self, name: &'static str) -> anyhow::Result<Child> {
        self.spawn_with(name, &[])
    }

    /// Starts `name` with `overrides` on top of its environment (a second instance on
    /// another `LISTEN_ADDR`, another `RUST_LOG`).
    pub fn spawn_with(
        &self,
        name: &'static str,
        overrides: &[(&str, String)],
    ) -> anyhow::Result<Child> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_dir().join(format!("{name}.log")))?;
        Command::new(Profile::Release.binary(name))
            .envs(self.env[name].iter().map(|(k, v)| (k, v)))
            .envs(overrides.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {name}"))
    }

    /// Polls `name`'s `/health/ready` every 2 ms until it answers 200; the time since
    /// `started`. Fails if the process exits or 60 s pass.
    pub async fn wait_ready(
        &self,
        client: &reqwest::Client,
        name: &str,
        child: &mut Child,
        started: Instant,
    ) -> anyhow::Result<Duration> {
        wait_ready_at(
            client,
            &self.url(name, "/health/ready"),
            name,
            child,
            started,
        )
        .await
    }
}

/// Polls `url` (a `/health/ready`) as [`Layout::wait_ready`] does.
pub async fn wait_ready_at(
    client: &reqwest::Client,
    url: &str,
    name: &str,
    child: &mut Child,
    started: Instant,
) -> anyhow::Result<Duration> {
    loop {
        if let Ok(response) = client.get(url).send().await
            && response.status().is_success()
        {
            return Ok(started.elapsed());
        }
        if let Some(status) = child.try_wait()? {
            bail!(
                "{name} exited during start-up ({status}): see {}",
                log_dir().join(format!("{name}.log")).display()
            );
        }
        if started.elapsed() > Duration::from_secs(60) {
            bail!("{name} not ready after 60 s");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// SIGTERM (the services drain and exit), then SIGKILL after 25 s.
pub fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(25);
    loop {
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => return,
            Ok(None) if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// The five services running together.
pub struct Stack {
    pub children: BTreeMap<&'static str, Child>,
}

impl Stack {
    /// Starts all five in the order of [`SERVICES`] (users first: the others fetch its
    /// keys) and waits until each is ready.
    pub async fn start(layout: &Layout, client: &reqwest::Client) -> anyhow::Result<Self> {
        let mut stack = Self {
            children: BTreeMap::new(),
        };
        for service in SERVICES {
            let started = Instant::now();
            let mut child = layout.spawn(service.name)?;
            let ready = layout
                .wait_ready(client, service.name, &mut child, started)
                .await;
            stack.children.insert(service.name, child);
            if let Err(error) = ready {
                stack.stop();
                return Err(error);
            }
        }
        Ok(stack)
    }

    pub fn pid(&self, name: &str) -> anyhow::Result<u32> {
        Ok(self
            .children
            .get(name)
            .with_context(|| format!("{name} is not running"))?
            .id())
    }

    /// Stops `name` and starts it afresh with `overrides` on its environment (a new
    /// process, so its peak memory starts over).
    pub async fn restart(
        &mut self,
        layout: &Layout,
        client: &reqwest::Client,
        name: &'static str,
        overrides: &[(&str, String)],
    ) -> anyhow::Result<()> {
        if let Some(child) = self.children.remove(name) {
            stop(child);
        }
        let started = Instant::now();
        let mut child = layout.spawn_with(name, overrides)?;
        let ready = layout.wait_ready(client, name, &mut child, started).await;
        self.children.insert(name, child);
        ready.map(|_| ())
    }

    pub fn stop(&mut self) {
        // The storefront first, the users service (whose keys the others fetch) last.
        for service in SERVICES.iter().rev() {
            if let Some(child) = self.children.remove(service.name) {
                stop(child);
            }
        }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A line of `/proc/<pid>/status` in KiB (`VmRSS`, `VmHWM`), as bytes.
pub fn proc_status_bytes(pid: u32, field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("process {pid} is not running"))?;
    parse_status_kib(&status, field)
        .map(|kib| kib * 1024)
        .with_context(|| format!("no {field} in /proc/{pid}/status"))
}

fn parse_status_kib(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_memory_lines_of_proc_status() {
        let status = "Name:\tusers\nVmHWM:\t   40960 kB\nVmRSS:\t   16384 kB\n";
        assert_eq!(parse_status_kib(status, "VmRSS"), Some(16384));
        assert_eq!(parse_status_kib(status, "VmHWM"), Some(40960));
        assert_eq!(parse_status_kib(status, "VmSwap"), None);
        let own = proc_status_bytes(std::process::id(), "VmRSS").unwrap();
        assert!(own > 1024 * 1024, "{own}");
    }
}
