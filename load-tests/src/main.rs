//! Load test: shoppers on the web shop (goose).
//!
//! The default scenario, `shopper` (`shopper.rs`), is a customer of the storefront: each
//! user registers an account of its own, then browses products, fills its cart, checks
//! out, reads its order history and signs out and in, with Online Boutique's weights.
//! The `catalog` scenario (`catalog.rs`) reads the catalog service's JSON API directly.
//!
//! The options are goose's (`--help`); `--hatch-rate` is goose's `--increase-rate`. A run
//! is bounded (`limits.rs`): it targets this machine only, with at most 500 users, lasts
//! `--run-time` (60 s when not given, an hour at most), and starts its users within ten
//! minutes. It writes an HTML report, `target/load-tests/report.html` unless
//! `--report-file` names another, and fails on any failed request or step.
//!
//! `cargo xtask test` runs it for a few seconds with a few users against the storefront
//! running in the image check. By hand, with `cargo xtask up` running:
//!
//! ```text
//! cargo run --release -p load-tests -- --host http://127.0.0.1:8080 --users 8 \
//!     --hatch-rate 4 --run-time 20s --report-file target/load-tests/report.html
//! cargo run --release -p load-tests -- --scenarios catalog --host http://127.0.0.1:8082 \
//!     --users 16 --hatch-rate 16 --run-time 30s
//! ```

mod catalog;
mod limits;
mod page;
mod shopper;

use goose::config::GooseConfiguration;
use goose::prelude::*;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let args = limits::goose_spelling(std::env::args().skip(1));
    // Goose's own parser: `--help` prints goose's help, a bad option its error.
    let parsed = <GooseConfiguration as clap::Parser>::try_parse_from(
        std::iter::once("load-tests".to_owned()).chain(args.iter().cloned()),
    )
    .unwrap_or_else(|error| error.exit());
    let config = match limits::bounded(&args, parsed) {
        Ok(config) => with_report(config),
        Err(refused) => {
            eprintln!("load test refused: {refused}");
            return ExitCode::FAILURE;
        }
    };
    match run(config).await {
        Ok(metrics) => judge(&metrics),
        Err(error) => {
            eprintln!("load test could not run: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The default report, `target/load-tests/report.html` in the workspace, and the folders
/// of every report file.
fn with_report(mut config: GooseConfiguration) -> GooseConfiguration {
    if config.report_file.is_empty() {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let report = workspace.join("target/load-tests/report.html");
        config
            .report_file
            .push(report.to_string_lossy().into_owned());
    }
    for report in &config.report_file {
        if let Some(folder) = Path::new(report).parent()
            && !folder.as_os_str().is_empty()
            && let Err(error) = std::fs::create_dir_all(folder)
        {
            eprintln!("cannot create {}: {error}", folder.display());
        }
    }
    config
}

async fn run(config: GooseConfiguration) -> Result<GooseMetrics, GooseError> {
    GooseAttack::initialize_with_config(config)?
        .set_client_builder_with_cookies(
            // A stuck page fails its request well before the run ends.
            goose::client::GooseClientBuilder::new().timeout(std::time::Duration::from_secs(10)),
        )?
        .register_scenario(shopper::scenario()?)
        .register_scenario(catalog::scenario()?)
        .execute()
        .await
}

/// Fails the run on any failed request or step, if nothing was requested at all, or if a
/// step of a scenario that ran never ran itself (a run too short to mean much).
fn judge(metrics: &GooseMetrics) -> ExitCode {
    let (mut requests, mut failed_requests) = (0usize, 0usize);
    for request in metrics.requests.values() {
        requests += request.success_count + request.fail_count;
        failed_requests += request.fail_count;
    }
    let (mut steps, mut failed_steps) = (0usize, 0usize);
    let mut never_ran = Vec::new();
    for scenario in &metrics.transactions {
        let runs = |step: &goose::metrics::TransactionMetricAggregate| {
            step.success_count + step.fail_count
        };
        if scenario.iter().all(|step| runs(step) == 0) {
            continue;
        }
        for step in scenario {
            steps += runs(step);
            failed_steps += step.fail_count;
            if runs(step) == 0 {
                never_ran.push(format!(
                    "{}: {}",
                    step.scenario_name,
                    step.transaction_name.name_for_transaction()
                ));
            }
        }
    }
    println!(
        "load test: {requests} requests, {failed_requests} failed; \
         {steps} steps, {failed_steps} failed"
    );
    for error in metrics.transaction_errors.keys() {
        println!("  step error: {error}");
    }
    if !never_ran.is_empty() {
        println!("  never ran: {}", never_ran.join(", "));
    }
    let clean = requests > 0
        && failed_requests == 0
        && failed_steps == 0
        && metrics.transaction_errors.is_empty()
        && never_ran.is_empty();
    if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
