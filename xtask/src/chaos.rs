//! `cargo xtask chaos <stop|start|restart> <service|broker>`: the Chaos Monkey by hand, on
//! what `cargo xtask up` started.
//!
//! `stop` kills the process at once (SIGKILL), as a crashed machine would: no draining, no
//! goodbye. `start` runs it again with the environment `up` gives it, its output appended to
//! the same log, and waits until it answers. `restart` is both. Services are found by the
//! pid files `up` writes in `target/harbor/pids/`; the broker only if xtask started it.
//!
//! `up` supervises its services and restarts one that dies; `stop` therefore leaves a
//! hold (`target/harbor/pids/<name>.held`) that keeps `up` from restarting it, and `start`
//! lifts the hold and lets `up` start it. Without a running `up`, `start` runs the service
//! itself; a service started that way is not a child of `up`: Ctrl-C on `up` leaves it
//! running. Stop it with `cargo xtask chaos stop <service>`.

use crate::services::{self, SERVICES, Service};
use crate::{broker, postgres, progress, supervise, workspace};
use anyhow::{Context, bail};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const USAGE: &str = "usage: cargo xtask chaos <stop|start|restart> <users|catalog|orders|recommendations|storefront|broker>\n       cargo xtask chaos monkey [--minutes N]";

/// How long a started service has to answer `/health/live`.
const START_PATIENCE: Duration = Duration::from_secs(60);

pub async fn run(args: &[String]) -> anyhow::Result<()> {
    if args.first().map(String::as_str) == Some("monkey") {
        return crate::monkey::run(&args[1..]).await;
    }
    let (Some(action), Some(target)) = (args.first(), args.get(1)) else {
        bail!("{USAGE}");
    };
    if target == "broker" {
        return match action.as_str() {
            "stop" => stop_broker(),
            "start" => broker::ensure_running(broker::Storage::Durable).await,
            "restart" => {
                stop_broker()?;
                broker::ensure_running(broker::Storage::Durable).await
            }
            other => bail!("unknown action `{other}`\n{USAGE}"),
        };
    }
    let Some(service) = SERVICES.iter().find(|service| service.name == target) else {
        bail!("unknown service `{target}`\n{USAGE}");
    };
    match action.as_str() {
        "stop" => stop(service),
        "start" => start(service).await,
        "restart" => {
            stop(service)?;
            start(service).await
        }
        other => bail!("unknown action `{other}`\n{USAGE}"),
    }
}

pub(crate) fn pid_file(name: &str) -> PathBuf {
    workspace::state_dir()
        .join("pids")
        .join(format!("{name}.pid"))
}

pub(crate) fn read_pid(name: &str) -> Option<String> {
    std::fs::read_to_string(pid_file(name))
        .ok()
        .map(|pid| pid.trim().to_owned())
        .filter(|pid| !pid.is_empty())
}

/// Running, and not a zombie: a service killed here stays a zombie until `up`, its parent,
/// reaps it, yet it is as dead as can be.
fn is_alive(pid: &str) -> bool {
    let signalable = Command::new("kill")
        .args(["-0", pid])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    // `/proc/<pid>/stat` is `pid (name) state …`; without /proc, trust the signal.
    let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false);
    signalable && !zombie
}

/// SIGKILL, then waits (at most 5 s) until the process is gone.
fn kill(name: &str, pid: &str) -> anyhow::Result<()> {
    progress::step(&format!("chaos: killing {name} (pid {pid})"));
    Command::new("kill")
        .args(["-KILL", pid])
        .status()
        .context("running kill")?;
    let deadline = Instant::now() + Duration::from_secs(5);
    while is_alive(pid) {
        if Instant::now() > deadline {
            bail!("{name} (pid {pid}) is still running after SIGKILL");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = std::fs::remove_file(pid_file(name));
    progress::done(&format!("{name} is down"));
    Ok(())
}

fn stop(service: &Service) -> anyhow::Result<()> {
    match read_pid(service.name) {
        Some(pid) if is_alive(&pid) => {
            std::fs::write(
                supervise::hold_file(service.name),
                "held by cargo xtask chaos stop\n",
            )?;
            kill(service.name, &pid)
        }
        _ => bail!(
            "{} is not running (no live pid in {}): start the shop with `cargo xtask up`",
            service.name,
            pid_file(service.name).display()
        ),
    }
}

fn stop_broker() -> anyhow::Result<()> {
    match read_pid("tansu") {
        Some(pid) if is_alive(&pid) => kill("broker", &pid),
        _ => bail!(
            "the broker at {} was not started by xtask, so chaos leaves it alone",
            broker::address()
        ),
    }
}

async fn start(service: &Service) -> anyhow::Result<()> {
    let held = supervise::hold_file(service.name);
    let was_held = held.exists();
    let _ = std::fs::remove_file(&held);
    if read_pid("up").is_some_and(|pid| is_alive(&pid)) {
        progress::step(&format!("chaos: letting `up` start {} again", service.name));
        return wait_until_live(service, was_held).await;
    }
    if let Some(pid) = read_pid(service.name).filter(|pid| is_alive(pid)) {
        bail!("{} is already running (pid {pid})", service.name);
    }
    progress::step(&format!("chaos: starting {}", service.name));
    let binary = workspace::target_dir().join("debug").join(service.name);
    let env = services::local_env(&postgres::shop_database());
    let log_path = workspace::state_dir()
        .join("logs")
        .join(format!("{}.log", service.name));
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("opening {}", log_path.display()))?;
    let mut command = Command::new(&binary);
    command
        .envs(
            env.get(service.name)
                .into_iter()
                .flatten()
                .map(|(k, v)| (k, v)),
        )
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    // Its own process group: it outlives this command.
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let child = command
        .spawn()
        .with_context(|| format!("starting {} (built by `cargo xtask up`?)", binary.display()))?;
    let pid = child.id().to_string();
    std::fs::write(pid_file(service.name), &pid)?;

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let url = format!("http://127.0.0.1:{}/health/live", service.port);
    let deadline = Instant::now() + START_PATIENCE;
    loop {
        if let Ok(response) = client.get(&url).send().await
            && response.status().is_success()
        {
            progress::done(&format!("{} is back (pid {pid})", service.name));
            return Ok(());
        }
        if !is_alive(&pid) {
            bail!(
                "{} exited during start-up: see {}",
                service.name,
                log_path.display()
            );
        }
        if Instant::now() > deadline {
            bail!(
                "{} does not answer after {} s: see {}",
                service.name,
                START_PATIENCE.as_secs(),
                log_path.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits until `up` has started `service` again and it answers `/health/live`.
async fn wait_until_live(service: &Service, was_held: bool) -> anyhow::Result<()> {
    if !was_held {
        progress::note(&format!(
            "{} was not held down; `up` keeps it running",
            service.name
        ));
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let url = format!("http://127.0.0.1:{}/health/live", service.port);
    let deadline = Instant::now() + START_PATIENCE;
    while Instant::now() < deadline {
        if let Ok(response) = client.get(&url).send().await
            && response.status().is_success()
        {
            progress::done(&format!("{} is back", service.name));
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    bail!(
        "{} does not answer after {} s: see target/harbor/logs/{}.log",
        service.name,
        START_PATIENCE.as_secs(),
        service.name
    )
}
