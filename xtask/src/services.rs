//! Building, starting, watching and stopping the five services as local processes.

use crate::{broker, postgres, progress, workspace};
use anyhow::{Context, bail};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A service: its binary's name, its port, the schema it owns (storefront owns none), and
/// the services it calls (`cargo xtask up --only` starts those too).
#[derive(Debug)]
pub struct Service {
    pub name: &'static str,
    pub port: u16,
    pub schema: Option<&'static str>,
    pub needs: &'static [&'static str],
}

pub const SERVICES: &[Service] = &[
    Service {
        name: "users",
        port: 8081,
        schema: Some("users"),
        needs: &[],
    },
    Service {
        name: "catalog",
        port: 8082,
        schema: Some("catalog"),
        needs: &["users"],
    },
    Service {
        name: "orders",
        port: 8083,
        schema: Some("orders"),
        needs: &["users", "catalog"],
    },
    Service {
        name: "recommendations",
        port: 8084,
        schema: Some("recommendations"),
        needs: &["users"],
    },
    Service {
        name: "storefront",
        port: 8080,
        schema: None,
        needs: &["users", "catalog", "orders", "recommendations"],
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

/// `names` and, before them, every service they call, directly or not, in the order of
/// [`SERVICES`] (which starts a callee before its callers). `None` is all five.
pub fn with_what_they_need(names: Option<&[String]>) -> anyhow::Result<Vec<&'static Service>> {
    let Some(names) = names else {
        return Ok(SERVICES.iter().collect());
    };
    let mut wanted: Vec<&str> = Vec::new();
    let mut to_visit: Vec<&str> = Vec::new();
    for name in names {
        let Some(service) = SERVICES.iter().find(|service| service.name == name) else {
            let known: Vec<&str> = SERVICES.iter().map(|service| service.name).collect();
            bail!("no service `{name}`: the services are {}", known.join(", "));
        };
        to_visit.push(service.name);
    }
    while let Some(name) = to_visit.pop() {
        if wanted.contains(&name) {
            continue;
        }
        wanted.push(name);
        if let Some(service) = SERVICES.iter().find(|service| service.name == name) {
            to_visit.extend(service.needs);
        }
    }
    Ok(SERVICES
        .iter()
        .filter(|service| wanted.contains(&service.name))
        .collect())
}

/// Builds the debug binaries of `services` only (as [`build_profile`] does all five).
pub fn build_these(services: &[&Service]) -> anyhow::Result<()> {
    let mut args = vec!["build", "--bins"];
    for service in services {
        args.extend(["--package", service.name]);
    }
    workspace::cargo(&args)
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
    for service in SERVICES {
        args.extend(["--package", service.name]);
    }
    workspace::cargo(&args)
}

/// The environment of each service when run locally against `database`.
pub fn local_env(database: &str) -> BTreeMap<&'static str, Vec<(String, String)>> {
    let mut all = BTreeMap::new();
    for service in SERVICES {
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
            // The storefront calls from loopback and reports its client's address.
            env.push(("TRUSTED_PROXIES".to_owned(), "127.0.0.1".to_owned()));
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
    pid_dir_in(&workspace::state_dir())
}

fn log_path(name: &str) -> PathBuf {
    log_path_in(&workspace::state_dir(), name)
}

fn pid_dir_in(state: &Path) -> PathBuf {
    state.join("pids")
}

fn log_path_in(state: &Path, name: &str) -> PathBuf {
    state.join("logs").join(format!("{name}.log"))
}

pub struct Running {
    children: Vec<(&'static str, Child)>,
    /// Where their pid files and logs are (`target/harbor`; a test's own directory).
    state: PathBuf,
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
            .open(log_path_in(&self.state, service.name))?;
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
            pid_dir_in(&self.state).join(format!("{}.pid", service.name)),
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
    start(&SERVICES.iter().collect::<Vec<_>>(), launch)
}

/// Starts `services`, as [`start_all`] does all five.
pub fn start(
    services: &[&Service],
    launch: impl Fn(&Service) -> Command,
) -> anyhow::Result<Running> {
    start_in(&workspace::state_dir(), services, launch)
}

/// [`start`], with pid files and logs under `state`.
pub fn start_in(
    state: &Path,
    services: &[&Service],
    launch: impl Fn(&Service) -> Command,
) -> anyhow::Result<Running> {
    std::fs::create_dir_all(pid_dir_in(state))?;
    std::fs::create_dir_all(state.join("logs"))?;
    let mut running = Running {
        children: Vec::new(),
        state: state.to_owned(),
    };
    for service in services {
        let log = std::fs::File::create(log_path_in(state, service.name))?;
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
            pid_dir_in(state).join(format!("{}.pid", service.name)),
            child.id().to_string(),
        )?;
        progress::note(&format!("{} started (pid {})", service.name, child.id()));
        running.children.push((service.name, child));
    }
    Ok(running)
}

/// Waits until every service `running` started reports ready, failing early if one exits.
pub async fn wait_until_ready(running: &Running) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let deadline = Instant::now() + Duration::from_secs(90);
    let started = SERVICES.iter().filter(|service| {
        running
            .children
            .iter()
            .any(|(name, _)| *name == service.name)
    });
    for service in started {
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
        let _ = std::fs::remove_file(pid_dir_in(&running.state).join(format!("{name}.pid")));
    }
}

/// Stops services recorded in pid files (from an `up` in another terminal).
pub fn stop_recorded() {
    for service in SERVICES {
        let file = pid_dir().join(format!("{}.pid", service.name));
        if let Ok(pid) = std::fs::read_to_string(&file) {
            let _ = Command::new("kill").args(["-TERM", pid.trim()]).status();
            let _ = std::fs::remove_file(file);
        }
    }
}

pub fn print_table(services: &[&Service]) {
    println!("\n  {:<16} {:<28} API docs", "service", "URL");
    for service in services {
        let url = format!("http://localhost:{}", service.port);
        println!("  {:<16} {:<28} {url}/docs", service.name, url);
    }
    if services.iter().any(|service| service.name == "storefront") {
        println!("\n  The shop: http://localhost:8080 (JSON API under /api/)");
    }
    println!(
        "  Administrator: {ADMIN_EMAIL} / {} (set ADMIN_PASSWORD to choose)",
        admin_password()
    );
}

/// `http://127.0.0.1:<port><path>` of the service `name` as `up` runs it.
pub fn url(name: &str, path: &str) -> String {
    let port = SERVICES
        .iter()
        .find(|service| service.name == name)
        .map_or(0, |service| service.port);
    format!("http://127.0.0.1:{port}{path}")
}

/// Signs `email` in at the users service at `users`: the access token.
pub async fn sign_in(
    http: &reqwest::Client,
    users: &str,
    email: &str,
    password: &str,
) -> anyhow::Result<String> {
    let answer = http
        .post(format!("{users}/v1/sessions"))
        .json(&serde_json::json!({ "email": email, "password": password }))
        .send()
        .await
        .context("users does not answer")?;
    anyhow::ensure!(
        answer.status().is_success(),
        "signing in {email}: {}",
        answer.status()
    );
    let session: serde_json::Value = answer.json().await?;
    session["access_token"]
        .as_str()
        .map(str::to_owned)
        .context("no access_token in the sign-in answer")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(selected: &[&Service]) -> Vec<&'static str> {
        selected.iter().map(|service| service.name).collect()
    }

    fn only(names: &[&str]) -> anyhow::Result<Vec<&'static Service>> {
        let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
        with_what_they_need(Some(&names))
    }

    #[test]
    fn only_a_service_starts_what_it_calls_and_nothing_else() {
        assert_eq!(names(&only(&["users"]).unwrap()), ["users"]);
        assert_eq!(names(&only(&["catalog"]).unwrap()), ["users", "catalog"]);
        assert_eq!(
            names(&only(&["orders"]).unwrap()),
            ["users", "catalog", "orders"]
        );
        assert_eq!(
            names(&only(&["recommendations", "catalog"]).unwrap()),
            ["users", "catalog", "recommendations"]
        );
        assert_eq!(names(&only(&["storefront"]).unwrap()).len(), 5);
        assert_eq!(names(&with_what_they_need(None).unwrap()).len(), 5);
    }

    #[test]
    fn an_unknown_service_is_refused_with_the_known_ones() {
        let error = only(&["shipping"]).unwrap_err().to_string();
        assert!(error.contains("no service `shipping`"), "{error}");
        assert!(error.contains("users, catalog, orders"), "{error}");
    }

    #[test]
    fn every_service_a_service_needs_exists_and_comes_first() {
        for (index, service) in SERVICES.iter().enumerate() {
            for needed in service.needs {
                let position = SERVICES.iter().position(|s| s.name == *needed);
                assert!(
                    position.is_some_and(|position| position < index),
                    "{} needs {needed}, which must be listed before it",
                    service.name
                );
            }
        }
    }
}
