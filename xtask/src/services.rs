//! Building, starting, watching and stopping the five services as local processes.

use crate::{broker, postgres, progress, workspace};
use anyhow::{Context, bail};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A service: its binary's name, its port, and the schema it owns (storefront owns none).
pub struct Service {
    pub name: &'static str,
    pub port: u16,
    pub schema: Option<&'static str>,
}

pub const SERVICES: [Service; 5] = [
    Service {
        name: "users",
        port: 8081,
        schema: Some("users"),
    },
    Service {
        name: "catalog",
        port: 8082,
        schema: Some("catalog"),
    },
    Service {
        name: "orders",
        port: 8083,
        schema: Some("orders"),
    },
    Service {
        name: "recommendations",
        port: 8084,
        schema: Some("recommendations"),
    },
    Service {
        name: "storefront",
        port: 8080,
        schema: None,
    },
];

/// Which build of the services: the debug one tests and `up` use, or the release one the
/// Dockerfile builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Debug,
    Release,
}

impl Profile {
    pub fn binary(self, name: &str) -> PathBuf {
        let dir = match self {
            Profile::Debug => "debug",
            Profile::Release => "release",
        };
        workspace::target_dir().join(dir).join(name)
    }
}

/// Builds the five services' debug binaries.
pub fn build() -> anyhow::Result<()> {
    build_profile(Profile::Debug)
}

/// Builds the five services as `profile`, as the Dockerfile does: one invocation with
/// `--package` for each service (and `--release --locked` for release).
///
/// Not `--workspace`: that unifies the services' dependencies with the load tests' and
/// changes what the binaries do, not only what they link. goose turns on reqwest's rustls,
/// and rustls' platform verifier then refuses to build any client, the OTLP exporter's
/// included, in an image without CA certificates. The image check must run what the
/// image runs, even if the debug build then compiles shared crates a second time.
pub fn build_profile(profile: Profile) -> anyhow::Result<()> {
    let mut args = vec!["build", "--bins"];
    if profile == Profile::Release {
        args.extend(["--release", "--locked"]);
    }
    for service in &SERVICES {
        args.extend(["--package", service.name]);
    }
    workspace::cargo(&args)
}

/// The environment of each service when run locally against `database`.
pub fn local_env(database: &str) -> BTreeMap<&'static str, Vec<(String, String)>> {
    let mut all = BTreeMap::new();
    for service in &SERVICES {
        let mut env = vec![
            (
                "LISTEN_ADDR".to_owned(),
                format!("127.0.0.1:{}", service.port),
            ),
            (
                "RUST_LOG".to_owned(),
                std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
            ),
        ];
        if let Some(schema) = service.schema
            && let Ok(url) = postgres::service_url(schema, database)
        {
            env.push(("DATABASE_URL".to_owned(), url));
        }
        if service.schema.is_some() {
            env.push((
                "KAFKA_FETCH_WAIT_MS".to_owned(),
                broker::TANSU_FETCH_WAIT_MS.to_owned(),
            ));
        }
        // The demo lets an admin break and heal services (the ops panel, /ops/faults).
        env.push(("FAULTS_ENABLED".to_owned(), "true".to_owned()));
        if service.name == "users" {
            // The demo's administrator (catalog's admin API, later the ops panel).
            env.push(("ADMIN_EMAIL".to_owned(), ADMIN_EMAIL.to_owned()));
            env.push(("ADMIN_PASSWORD".to_owned(), admin_password()));
        }
        all.insert(service.name, env);
    }
    all
}

pub const ADMIN_EMAIL: &str = "admin@harbor.shop";

/// `ADMIN_PASSWORD` from the environment, or the local demo's well-known one.
pub fn admin_password() -> String {
    std::env::var("ADMIN_PASSWORD").unwrap_or_else(|_| "harbor-admin-demo".to_owned())
}

fn pid_dir() -> PathBuf {
    workspace::state_dir().join("pids")
}

fn log_path(name: &str) -> PathBuf {
    workspace::state_dir()
        .join("logs")
        .join(format!("{name}.log"))
}

pub struct Running {
    children: Vec<(&'static str, Child)>,
}

impl Running {
    /// How `name` ended, if it has (reaping it).
    pub fn exited(&mut self, name: &str) -> Option<std::process::ExitStatus> {
        let (_, child) = self.children.iter_mut().find(|(n, _)| *n == name)?;
        child.try_wait().ok().flatten()
    }

    /// Starts `service` again with `launch`, appending to its log; returns the new pid.
    pub fn restart(
        &mut self,
        service: &Service,
        launch: &impl Fn(&Service) -> Command,
    ) -> anyhow::Result<u32> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_path(service.name))?;
        let mut command = launch(service);
        command
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let child = command
            .spawn()
            .with_context(|| format!("starting {}", service.name))?;
        let pid = child.id();
        std::fs::write(
            pid_dir().join(format!("{}.pid", service.name)),
            pid.to_string(),
        )?;
        match self.children.iter_mut().find(|(n, _)| *n == service.name) {
            Some((_, slot)) => *slot = child,
            None => self.children.push((service.name, child)),
        }
        Ok(pid)
    }

    /// Each service's name and process id.
    pub fn pids(&self) -> impl Iterator<Item = (&'static str, u32)> + '_ {
        self.children
            .iter()
            .map(|(name, child)| (*name, child.id()))
    }
}

/// Each service as a process of this machine: its debug binary with `env`.
pub fn on_host<'a>(
    env: &'a BTreeMap<&'static str, Vec<(String, String)>>,
) -> impl Fn(&Service) -> Command + 'a {
    move |service| {
        let mut command = Command::new(Profile::Debug.binary(service.name));
        command.envs(
            env.get(service.name)
                .into_iter()
                .flatten()
                .map(|(k, v)| (k, v)),
        );
        command
    }
}

/// Starts the five services, each from the command `launch` makes for it, logging to
/// `target/harbor/logs/<name>.log`.
pub fn start_all(launch: impl Fn(&Service) -> Command) -> anyhow::Result<Running> {
    std::fs::create_dir_all(pid_dir())?;
    std::fs::create_dir_all(workspace::state_dir().join("logs"))?;
    let mut running = Running {
        children: Vec::new(),
    };
    for service in &SERVICES {
        let log = std::fs::File::create(log_path(service.name))?;
        let mut command = launch(service);
        command
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let child = match command.spawn() {
            Ok(child) => child,
            Err(error) => {
                stop_all(running);
                return Err(error).with_context(|| format!("starting {}", service.name));
            }
        };
        std::fs::write(
            pid_dir().join(format!("{}.pid", service.name)),
            child.id().to_string(),
        )?;
        progress::note(&format!("{} started (pid {})", service.name, child.id()));
        running.children.push((service.name, child));
    }
    Ok(running)
}

/// Waits until every service reports ready, failing early if one exits.
pub async fn wait_until_ready(running: &Running) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let deadline = Instant::now() + Duration::from_secs(90);
    for service in &SERVICES {
        let url = format!("http://127.0.0.1:{}/health/ready", service.port);
        loop {
            if let Ok(response) = client.get(&url).send().await
                && response.status().is_success()
            {
                progress::done(&format!("{} ready", service.name));
                break;
            }
            if has_exited(running, service.name) {
                bail!(
                    "{} exited during start-up:\n{}",
                    service.name,
                    tail(&log_path(service.name))
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "{} not ready after 90 s:\n{}",
                    service.name,
                    tail(&log_path(service.name))
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok(())
}

fn has_exited(running: &Running, name: &str) -> bool {
    running
        .children
        .iter()
        .find(|(n, _)| *n == name)
        .is_some_and(|(_, child)| {
            // try_wait needs &mut; a zero-signal kill probes without reaping.
            !Command::new("kill")
                .args(["-0", &child.id().to_string()])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|status| status.success())
        })
}

/// The last lines of `name`'s log.
pub fn log_tail(name: &str) -> String {
    tail(&log_path(name))
}

fn tail(path: &PathBuf) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// SIGTERM to each service (they drain and exit), then SIGKILL for any still running.
pub fn stop_all(mut running: Running) {
    for (_, child) in &running.children {
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
    }
    let deadline = Instant::now() + Duration::from_secs(25);
    for (name, child) in &mut running.children {
        loop {
            match child.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if Instant::now() > deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
        let _ = std::fs::remove_file(pid_dir().join(format!("{name}.pid")));
    }
}

/// Stops services recorded in pid files (from an `up` in another terminal).
pub fn stop_recorded() {
    for service in &SERVICES {
        let file = pid_dir().join(format!("{}.pid", service.name));
        if let Ok(pid) = std::fs::read_to_string(&file) {
            let _ = Command::new("kill").args(["-TERM", pid.trim()]).status();
            let _ = std::fs::remove_file(file);
        }
    }
}

pub fn print_table() {
    println!("\n  {:<16} {:<28} API docs", "service", "URL");
    for service in &SERVICES {
        let url = format!("http://localhost:{}", service.port);
        println!("  {:<16} {:<28} {url}/docs", service.name, url);
    }
    println!("\n  The shop: http://localhost:8080 (JSON API under /api/)");
    println!(
        "  Administrator: {ADMIN_EMAIL} / {} (set ADMIN_PASSWORD to choose)",
        admin_password()
    );
}
