//! The command line, and the bounds every run keeps: it ends by itself, with a bounded
//! number of users, against this machine only.
//!
//! The options are goose's own (`--help` lists them). `--hatch-rate`, Locust's and older
//! goose's name for goose 0.19's `--increase-rate`, is accepted too.

use goose::config::{GooseConfiguration, Scenarios};
use goose::util::parse_timespan;
use std::net::IpAddr;

/// The most users one run starts: well past what this 2-core machine serves.
pub const MAX_USERS: usize = 500;
/// The longest a run may last once its users are started.
pub const MAX_RUN_SECONDS: usize = 3600;
/// The longest starting (or stopping) the users may take.
pub const MAX_RAMP_SECONDS: f64 = 600.0;
/// How long a run lasts when `--run-time` is not given.
pub const DEFAULT_RUN_TIME: &str = "60s";
/// The scenario a run plays when `--scenarios` is not given.
pub const DEFAULT_SCENARIO: &str = "shopper";

/// Why a command line is refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Refused {
    #[error("--host {0}: the load test only targets this machine (localhost, 127.0.0.0/8, ::1)")]
    NotLoopback(String),
    #[error("--users {0}: at most {MAX_USERS}")]
    TooManyUsers(usize),
    #[error("--run-time {0}: give a time span of at most {MAX_RUN_SECONDS} s, such as 30s or 5m")]
    RunTime(String),
    #[error(
        "{option} {value}: starting or stopping the users would take over {MAX_RAMP_SECONDS} s"
    )]
    Ramp { option: &'static str, value: String },
    #[error(
        "{0} is not supported: --users, --hatch-rate and --run-time alone set a run, which ends by itself"
    )]
    Unsupported(&'static str),
}

/// Goose's options that would let a run go on unbounded, or be driven from outside (a
/// controller can change a run's users and length while it runs).
const UNSUPPORTED: [&str; 4] = [
    "--test-plan",
    "--iterations",
    "--no-autostart",
    "--websocket",
];

/// `args` (without the program name) with `--hatch-rate` spelled as goose 0.19 spells it.
pub fn goose_spelling(args: impl IntoIterator<Item = String>) -> Vec<String> {
    args.into_iter()
        .map(|arg| match arg.strip_prefix("--hatch-rate") {
            Some("") => "--increase-rate".to_owned(),
            Some(value) if value.starts_with('=') => format!("--increase-rate{value}"),
            _ => arg,
        })
        .collect()
}

/// Fills in this load test's defaults and checks the bounds.
///
/// The defaults: the shopper scenario, a 60 s run, metrics from the first user on (goose
/// would otherwise reset them once all users are started), and no telnet controller (it
/// would bind a fixed port, and could change a run's users and length while it runs;
/// goose's WebSocket controller is off unless `--websocket`, refused, asks for it).
pub fn bounded(
    args: &[String],
    mut config: GooseConfiguration,
) -> Result<GooseConfiguration, Refused> {
    for option in UNSUPPORTED {
        if args
            .iter()
            .any(|arg| arg == option || arg.starts_with(&format!("{option}=")))
        {
            return Err(Refused::Unsupported(option));
        }
    }
    if let Some(host) = &config.host
        && !is_loopback(host)
    {
        return Err(Refused::NotLoopback(host.clone()));
    }
    let users = config.users.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    if users > MAX_USERS {
        return Err(Refused::TooManyUsers(users));
    }
    let run_time = config
        .run_time
        .get_or_insert_with(|| DEFAULT_RUN_TIME.to_owned());
    match parse_timespan(run_time) {
        Some(seconds) if (1..=MAX_RUN_SECONDS).contains(&seconds) => {}
        _ => return Err(Refused::RunTime(run_time.clone())),
    }
    ramp_within_bounds(
        "--increase-rate",
        config.increase_rate.as_deref(),
        users,
        true,
    )?;
    ramp_within_bounds(
        "--increase-time",
        config.increase_time.as_deref(),
        users,
        false,
    )?;
    ramp_within_bounds(
        "--decrease-rate",
        config.decrease_rate.as_deref(),
        users,
        true,
    )?;
    ramp_within_bounds(
        "--decrease-time",
        config.decrease_time.as_deref(),
        users,
        false,
    )?;
    if config.scenarios.is_none() {
        config.scenarios = Some(Scenarios {
            active: vec![DEFAULT_SCENARIO.to_owned()],
        });
    }
    config.no_telnet = true;
    // The users' start counts too: their registrations, and any failure while starting.
    config.no_reset_metrics = true;
    Ok(config)
}

/// A rate (users a second) or a time span, checked against [`MAX_RAMP_SECONDS`]; goose
/// itself refuses the malformed ones.
fn ramp_within_bounds(
    option: &'static str,
    value: Option<&str>,
    users: usize,
    is_rate: bool,
) -> Result<(), Refused> {
    let Some(value) = value else { return Ok(()) };
    let seconds = if is_rate {
        value.parse::<f64>().ok().map(|rate| users as f64 / rate)
    } else {
        parse_timespan(value).map(|seconds| seconds as f64)
    };
    match seconds {
        Some(seconds) if seconds.is_finite() && seconds <= MAX_RAMP_SECONDS => Ok(()),
        // Not a number or a span: goose's own check names what is wrong with it.
        None => Ok(()),
        Some(_) => Err(Refused::Ramp {
            option,
            value: value.to_owned(),
        }),
    }
}

/// Whether `host` (a URL such as `http://127.0.0.1:8080`) names this machine.
fn is_loopback(host: &str) -> bool {
    let Ok(uri) = host.parse::<http::Uri>() else {
        // Goose refuses what is not a URL.
        return true;
    };
    let Some(name) = uri.host() else { return true };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(line: &[&str]) -> Result<GooseConfiguration, Refused> {
        let args = goose_spelling(line.iter().map(|arg| (*arg).to_owned()));
        let config = GooseConfiguration::parse_args_default(&args).expect("goose parses it");
        bounded(&args, config)
    }

    #[test]
    fn a_plain_run_gets_the_shopper_mix_a_minute_and_no_controller() {
        let config = check(&["--host", "http://127.0.0.1:8080", "--users", "8"]).expect("fine");
        assert_eq!(config.run_time.as_deref(), Some(DEFAULT_RUN_TIME));
        assert_eq!(
            config.scenarios.map(|s| s.active),
            Some(vec!["shopper".to_owned()])
        );
        assert!(config.no_telnet, "no controller");
        assert!(
            config.no_reset_metrics,
            "registrations while starting count"
        );
    }

    #[test]
    fn hatch_rate_is_goose_s_increase_rate() {
        let spaced = check(&["-H", "http://localhost:8080", "--hatch-rate", "4"]).expect("fine");
        assert_eq!(spaced.increase_rate.as_deref(), Some("4"));
        let joined = check(&["-H", "http://[::1]:8080", "--hatch-rate=2.5"]).expect("fine");
        assert_eq!(joined.increase_rate.as_deref(), Some("2.5"));
    }

    #[test]
    fn the_chosen_scenarios_are_kept() {
        let config =
            check(&["-H", "http://127.0.0.1:8082", "--scenarios", "catalog"]).expect("fine");
        assert_eq!(
            config.scenarios.map(|s| s.active),
            Some(vec!["catalog".to_owned()])
        );
    }

    #[test]
    fn only_this_machine_is_a_target() {
        for host in [
            "http://10.0.0.5:8080",
            "http://shop.example.com",
            "http://192.168.49.2",
        ] {
            assert_eq!(
                check(&["--host", host]).err(),
                Some(Refused::NotLoopback(host.to_owned()))
            );
        }
        assert!(check(&["--host", "http://127.0.0.2:8080"]).is_ok());
    }

    #[test]
    fn users_time_and_ramp_are_bounded() {
        let host = ["-H", "http://127.0.0.1:8080"];
        let with = |extra: &[&str]| check(&[&host[..], extra].concat());
        assert_eq!(with(&["-u", "501"]).err(), Some(Refused::TooManyUsers(501)));
        assert!(with(&["-u", "500", "-r", "1"]).is_ok());
        assert_eq!(
            with(&["-t", "2h"]).err(),
            Some(Refused::RunTime("2h".to_owned()))
        );
        assert_eq!(
            with(&["-t", "0"]).err(),
            Some(Refused::RunTime("0".to_owned()))
        );
        assert!(with(&["-t", "1h"]).is_ok());
        assert!(matches!(
            with(&["-u", "10", "--hatch-rate", "0.01"]),
            Err(Refused::Ramp {
                option: "--increase-rate",
                ..
            })
        ));
        assert!(matches!(
            with(&["-u", "10", "--decrease-time", "11m"]),
            Err(Refused::Ramp {
                option: "--decrease-time",
                ..
            })
        ));
        assert!(with(&["-u", "10", "--increase-time", "10m"]).is_ok());
    }

    #[test]
    fn runs_that_would_not_end_by_themselves_are_refused() {
        let host = ["-H", "http://127.0.0.1:8080"];
        assert_eq!(
            check(&[&host[..], &["--iterations", "5"]].concat()).err(),
            Some(Refused::Unsupported("--iterations"))
        );
        assert_eq!(
            check(&[&host[..], &["--test-plan=10,1m;0,10s"]].concat()).err(),
            Some(Refused::Unsupported("--test-plan"))
        );
        assert_eq!(
            check(&[&host[..], &["--websocket"]].concat()).err(),
            Some(Refused::Unsupported("--websocket"))
        );
    }
}
