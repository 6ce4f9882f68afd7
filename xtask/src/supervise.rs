//! What compose's `restart: unless-stopped` does, for `cargo xtask up`: a service that
//! exits is reported at once (its name, exit code or signal, its last log lines) and
//! started again, sooner the first time and backing off if it keeps dying.
//!
//! `cargo xtask chaos stop` kills a service on purpose and leaves a *hold* file beside its
//! pid file: a held service is not restarted until `chaos start` removes the hold, as a
//! container stopped with `docker compose stop` stays stopped.

use crate::services::{Running, SERVICES, Service};
use crate::{progress, workspace};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

/// The first restart comes at once; each quick death doubles the wait, up to this.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// A service that ran this long before dying is restarted at once again.
const HEALTHY_RUN: Duration = Duration::from_secs(60);

/// The file that keeps `name` down (written by `chaos stop`).
pub fn hold_file(name: &str) -> PathBuf {
    workspace::state_dir()
        .join("pids")
        .join(format!("{name}.held"))
}

/// What happened to one service at one look.
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    /// It exited; it will be started again after `after`.
    Exited {
        name: &'static str,
        how: String,
        after: Duration,
    },
    /// It exited and is held down by `chaos stop`.
    Held { name: &'static str, how: String },
    /// It was started again.
    Restarted { name: &'static str, pid: u32 },
}

/// Watches the services of one `up`.
pub struct Supervisor<L: Fn(&Service) -> Command> {
    launch: L,
    state: Vec<Watch>,
}

struct Watch {
    started: Instant,
    backoff: Duration,
    /// Down, to be started at this instant (unless held).
    restart_at: Option<Instant>,
}

impl<L: Fn(&Service) -> Command> Supervisor<L> {
    pub fn new(launch: L) -> Self {
        let state = SERVICES
            .iter()
            .map(|_| Watch {
                started: Instant::now(),
                backoff: Duration::ZERO,
                restart_at: None,
            })
            .collect();
        Self { launch, state }
    }

    /// One look at every service: reaps the dead, restarts those whose time has come.
    pub fn check(&mut self, running: &mut Running) -> Vec<Event> {
        let mut events = Vec::new();
        for (index, service) in SERVICES.iter().enumerate() {
            let watch = &mut self.state[index];
            if watch.restart_at.is_none() {
                let Some(status) = running.exited(service.name) else {
                    continue;
                };
                let how = describe(status);
                if hold_file(service.name).exists() {
                    events.push(Event::Held {
                        name: service.name,
                        how,
                    });
                    watch.restart_at = Some(Instant::now());
                    continue;
                }
                watch.backoff = if watch.started.elapsed() >= HEALTHY_RUN {
                    Duration::ZERO
                } else {
                    (watch.backoff * 2).clamp(Duration::from_secs(1), MAX_BACKOFF)
                };
                // The first death after a healthy run is restarted at once.
                let after = if watch.backoff == Duration::from_secs(1) {
                    Duration::ZERO
                } else {
                    watch.backoff
                };
                events.push(Event::Exited {
                    name: service.name,
                    how,
                    after,
                });
                watch.restart_at = Some(Instant::now() + after);
            }
            let due = watch
                .restart_at
                .is_some_and(|at| Instant::now() >= at && !hold_file(service.name).exists());
            if due {
                match running.restart(service, &self.launch) {
                    Ok(pid) => {
                        watch.restart_at = None;
                        watch.started = Instant::now();
                        events.push(Event::Restarted {
                            name: service.name,
                            pid,
                        });
                    }
                    Err(error) => {
                        progress::note(&format!("cannot restart {}: {error:#}", service.name));
                        watch.restart_at = Some(Instant::now() + MAX_BACKOFF);
                    }
                }
            }
        }
        events
    }
}

/// `exit code 3`, `signal 11 (SIGSEGV)`.
pub fn describe(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exit code {code}");
    }
    match status.signal() {
        Some(signal) => {
            let name = match signal {
                6 => " (SIGABRT)",
                9 => " (SIGKILL)",
                11 => " (SIGSEGV)",
                15 => " (SIGTERM)",
                _ => "",
            };
            format!("signal {signal}{name}")
        }
        None => status.to_string(),
    }
}

/// Prints what happened, with the dead service's last log lines.
pub fn report(event: &Event) {
    match event {
        Event::Exited { name, how, after } => {
            println!(
                "\n==> {name} exited ({how}); restarting in {} s",
                after.as_secs()
            );
            println!(
                "    its last log lines:\n{}",
                crate::services::log_tail(name)
            );
        }
        Event::Held { name, how } => {
            println!("\n==> {name} exited ({how}); held down by `cargo xtask chaos stop`");
        }
        Event::Restarted { name, pid } => {
            progress::done(&format!("{name} started again (pid {pid})"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services;

    /// The next events of `supervisor`, looking every 50 ms for up to `within`.
    fn next_events<L: Fn(&Service) -> Command>(
        supervisor: &mut Supervisor<L>,
        running: &mut Running,
        within: Duration,
    ) -> (Vec<Event>, Duration) {
        let start = Instant::now();
        loop {
            let events = supervisor.check(running);
            if !events.is_empty() || start.elapsed() > within {
                return (events, start.elapsed());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Real processes stand in for the services: `sleep`, and a catalog that keeps dying.
    #[test]
    fn a_dead_service_is_reported_and_started_again_backing_off_while_it_keeps_dying() {
        let state = std::env::temp_dir().join(format!("harbor-supervise-{}", std::process::id()));
        let all: Vec<&Service> = SERVICES.iter().collect();
        let sleeping = |_: &Service| {
            let mut command = Command::new("sleep");
            command.arg("60");
            command
        };
        let mut running = services::start_in(&state, &all, sleeping).expect("started");
        let catalog = running
            .pids()
            .find(|(name, _)| *name == "catalog")
            .map(|(_, pid)| pid)
            .expect("catalog runs");
        // From now on catalog fails at start, as a service with a bad setting would.
        let mut supervisor = Supervisor::new(|service: &Service| {
            if service.name == "catalog" {
                let mut command = Command::new("sh");
                command.args(["-c", "echo 'cannot start: bad setting' >&2; exit 3"]);
                command
            } else {
                sleeping(service)
            }
        });
        assert!(supervisor.check(&mut running).is_empty(), "all are running");

        let killed = Command::new("kill")
            .args(["-KILL", &catalog.to_string()])
            .status()
            .expect("kill");
        assert!(killed.success());
        let (events, _) = next_events(&mut supervisor, &mut running, Duration::from_secs(5));
        assert_eq!(
            events[0],
            Event::Exited {
                name: "catalog",
                how: "signal 9 (SIGKILL)".to_owned(),
                after: Duration::ZERO,
            },
            "reported at once, restarted at once"
        );
        assert!(matches!(
            events[1],
            Event::Restarted {
                name: "catalog",
                ..
            }
        ));

        // It dies again at once: now it waits 2 s, then 4 s.
        for wait in [2, 4] {
            let (events, _) = next_events(&mut supervisor, &mut running, Duration::from_secs(5));
            assert_eq!(
                events,
                [Event::Exited {
                    name: "catalog",
                    how: "exit code 3".to_owned(),
                    after: Duration::from_secs(wait),
                }]
            );
            let (events, waited) =
                next_events(&mut supervisor, &mut running, Duration::from_secs(wait + 2));
            assert!(matches!(
                events[..],
                [Event::Restarted {
                    name: "catalog",
                    ..
                }]
            ));
            assert!(
                waited >= Duration::from_secs(wait) - Duration::from_millis(100),
                "restarted after {waited:?}, not before {wait} s"
            );
        }
        let log = std::fs::read_to_string(state.join("logs").join("catalog.log")).expect("a log");
        assert!(
            log.contains("cannot start: bad setting"),
            "each start's output is kept: {log}"
        );
        assert!(
            SERVICES
                .iter()
                .filter(|service| service.name != "catalog")
                .all(|service| running.exited(service.name).is_none()),
            "the others were left alone"
        );
        services::stop_all(running);
        let _ = std::fs::remove_dir_all(&state);
    }

    #[test]
    fn exits_are_described_by_code_or_signal() {
        assert_eq!(describe(ExitStatus::from_raw(3 << 8)), "exit code 3");
        assert_eq!(describe(ExitStatus::from_raw(11)), "signal 11 (SIGSEGV)");
        assert_eq!(describe(ExitStatus::from_raw(9)), "signal 9 (SIGKILL)");
    }
}
