//! `cargo xtask`: everything you do to Harbor Shop besides editing code.
//!
//! ```text
//! cargo xtask up [--only NAME,…]   provision, build, start all services (or the named ones
//!                       and those they call), print their URLs; Ctrl-C stops
//! cargo xtask infra     provision Postgres and the Kafka broker only, and leave them running
//! cargo xtask down      stop what `up` or `infra` started
//! cargo xtask test      provision, then every test suite of the workspace (users' and
//!                       shop-server's again on an optimised build), then a load test
//!                       (shoppers on the storefront, a few seconds)
//! cargo xtask ci        cargo fmt --check, clippy -D warnings, cargo deny (bans, licenses,
//!                       sources), then `test`
//! cargo xtask bench     issue 16's figures on release builds (reads vs pgbench, memory, start,
//!                       sizes, checkout latency, event lag, trace export) into docs/benchmarks.md
//! cargo xtask lambda [--starts N] [--requests N] [--release]   recommendations as a Lambda
//!                       function under cargo-lambda's emulator: cold start and warm latency
//!                       beside the container's
//! cargo xtask image [--release]   run every service in the runtime image's file system
//! cargo xtask chaos <stop|start|restart> <service|broker>   break and heal what `up` runs
//! cargo xtask chaos monkey [--minutes N]   random faults under load, then what survived
//! cargo xtask rotate-keys   a new token signing key for what `up` runs (published now,
//!                       signing after the activation delay; old tokens stay valid)
//! cargo xtask slo [--every SECONDS]   each hop's availability, their product, the measured end to end
//! cargo xtask events tail <topic>   print a topic's events as they arrive
//! cargo xtask events redrive <topic>   publish what was dead-lettered from it again
//! cargo xtask schemathesis   start the five services on a database of their own and run
//!                       schemathesis (schemathesis.toml: every check, admin and customer)
//! cargo xtask openapi   rewrite each service's committed openapi.json from the code
//! cargo xtask sqlx-prepare [PACKAGE…]   refresh the compile-time query data in .sqlx/
//! cargo xtask new-service <name>   a new service from the one skeleton, wired into up,
//!                       the image, compose, Kubernetes and the deploy checks
//! cargo xtask new-service --drill [name]   make one in a copy of the workspace and prove it
//!                       builds, passes its tests and deploy checks, and runs in `up`
//! ```
//!
//! Settings come from the environment: `DATABASE_ADMIN_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), `KAFKA_BROKERS` (`127.0.0.1:9092`) and
//! `SHOP_DATABASE` (`shop`: the database `up` runs the services on).

mod bench;
mod broker;
mod chaos;
mod deny;
mod events;
mod image;
mod keys;
mod lambda;
mod monkey;
mod new_service;
mod postgres;
mod progress;
mod schemathesis;
mod services;
mod slo;
mod sqlx_prepare;
mod supervise;
mod tansu;
mod workspace;

use anyhow::{Context, bail};
use broker::Storage;
use std::process::Command;

const USAGE: &str = "usage: cargo xtask <up [--only SERVICE,…]|infra|down|test|ci|bench|lambda [--starts N] [--requests N] [--release]|image [--release]|chaos|slo [--every SECONDS]|rotate-keys|events <tail|redrive> TOPIC|schemathesis|openapi|sqlx-prepare [PACKAGE…]|new-service <NAME|--drill [NAME]>>";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Runtime::new().context("tokio runtime")?;
    match args.first().map(String::as_str) {
        Some("up") => runtime.block_on(up(&args[1..])),
        Some("infra") => runtime.block_on(infra(Storage::Durable)),
        Some("down") => down(),
        Some("test") => runtime.block_on(test()),
        Some("ci") => {
            // On a new machine the broker's install and the workspace's build overlap.
            let tansu = tansu::start_if_missing()?;
            progress::step("cargo fmt --check");
            workspace::cargo(&["fmt", "--all", "--", "--check"])?;
            progress::step("cargo clippy -D warnings");
            workspace::cargo(&[
                "clippy",
                "--workspace",
                "--all-targets",
                // The function's binary and its test, too.
                "--features",
                "recommendations/lambda",
                "--",
                "-D",
                "warnings",
            ])?;
            progress::step("cargo deny check bans licenses sources");
            deny::check()?;
            runtime.block_on(test_with(tansu))
        }
        Some("openapi") => {
            progress::step("regenerating services/*/openapi.json");
            let mut command = workspace::cargo_command(&[
                "test",
                "--workspace",
                "--test",
                "api",
                "the_committed_contract_matches_the_code",
            ]);
            command.env("UPDATE_CONTRACTS", "1");
            workspace::run(command)
        }
        Some("schemathesis") => runtime.block_on(schemathesis_alone()),
        Some("bench") => runtime.block_on(bench::run()),
        Some("lambda") => {
            let plan = lambda::Plan::from_args(&args[1..])?;
            runtime.block_on(lambda::run(plan))
        }
        Some("image") => runtime.block_on(image_check(&args[1..])),
        Some("sqlx-prepare") => runtime.block_on(sqlx_prepare::run(&args[1..])),
        Some("events") => runtime.block_on(events::run(&args[1..])),
        Some("chaos") => runtime.block_on(chaos::run(&args[1..])),
        Some("slo") => runtime.block_on(slo::run(&args[1..])),
        Some("rotate-keys") => runtime.block_on(keys::rotate()),
        Some("new-service") => runtime.block_on(async {
            // The drill's tests and its `up` need Postgres and a broker, as `test` has.
            if args.get(1).is_some_and(|arg| arg == "--drill") {
                infra(Storage::Memory).await?;
            }
            new_service::run(&args[1..]).await
        }),
        Some("-h" | "--help" | "help") | None => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => bail!("unknown command `{other}`\n{USAGE}"),
    }
}

/// Postgres with the shop database, roles and schemas; a Kafka broker keeping its data in
/// `storage` (if it has to be started).
async fn infra(storage: Storage) -> anyhow::Result<()> {
    progress::step("Postgres");
    postgres::ensure_running().await?;
    let report = postgres::provision_shop().await?;
    progress::done(if report.changed {
        "database `shop`, schemas and roles created"
    } else {
        "database `shop`, schemas and roles already in place"
    });
    progress::step("Kafka broker");
    broker::ensure_running(storage).await?;
    Ok(())
}

/// `up [--only NAME[,NAME…]]`: all five services, or the named ones and those they call.
async fn up(args: &[String]) -> anyhow::Result<()> {
    let only: Option<Vec<String>> = match args {
        [] => None,
        [flag, names] if flag == "--only" => Some(
            names
                .split(',')
                .map(|name| name.trim().to_owned())
                .collect(),
        ),
        _ => bail!("usage: cargo xtask up [--only SERVICE[,SERVICE…]]"),
    };
    let selected = services::with_what_they_need(only.as_deref())?;
    infra(Storage::Durable).await?;
    progress::step("building the services");
    services::build_these(&selected)?;
    progress::step("starting the services");
    let env = services::local_env(&postgres::shop_database());
    let mut running = services::start(&selected, services::on_host(&env))?;
    let ready = services::wait_until_ready(&running).await;
    if let Err(error) = ready {
        services::stop_all(running);
        return Err(error);
    }
    services::print_table(&selected);
    println!(
        "\nLogs: target/harbor/logs/. A service that exits is reported and started again.\n\
         Press Ctrl-C to stop."
    );
    // `cargo xtask chaos` asks this `up` to restart what it stopped.
    let up_pid = workspace::state_dir().join("pids").join("up.pid");
    for service in services::SERVICES {
        // A hold left by an earlier `up`'s chaos means nothing to this one.
        let _ = std::fs::remove_file(supervise::hold_file(service.name));
    }
    std::fs::write(&up_pid, std::process::id().to_string())?;
    let mut supervisor = supervise::Supervisor::new(services::on_host(&env));
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            signal = &mut ctrl_c => {
                signal.context("waiting for Ctrl-C")?;
                break;
            }
            () = tokio::time::sleep(std::time::Duration::from_millis(250)) => {
                for event in supervisor.check(&mut running) {
                    supervise::report(&event);
                }
            }
        }
    }
    progress::step("stopping");
    let _ = std::fs::remove_file(&up_pid);
    services::stop_all(running);
    broker::stop_if_ours();
    progress::done("stopped");
    Ok(())
}

fn down() -> anyhow::Result<()> {
    services::stop_recorded();
    broker::stop_if_ours();
    postgres::stop_if_ours()?;
    progress::done("stopped everything xtask started");
    Ok(())
}

/// `cargo xtask image [--release]`: the image check of `test` on its own; `--release`
/// builds the binaries exactly as the Dockerfile does.
async fn image_check(args: &[String]) -> anyhow::Result<()> {
    let profile = match args.first().map(String::as_str) {
        None => services::Profile::Debug,
        Some("--release") => services::Profile::Release,
        Some(other) => bail!("unknown option `{other}`\n{USAGE}"),
    };
    infra(Storage::Durable).await?;
    progress::step("building the services");
    services::build_profile(profile)?;
    progress::step("the runtime image: every service in distroless cc-debian12's file system");
    let database = format!("harbor_test_image_{}", std::process::id());
    shop_db::provision::provision(&postgres::admin_url(), &database).await?;
    let outcome = in_the_image(profile, &database, |_, _| async { Ok(()) }).await;
    shop_db::provision::drop_database(&postgres::admin_url(), &database).await?;
    outcome?;
    progress::done("the images would run");
    Ok(())
}

/// `cargo xtask schemathesis`: the contract check of `test` on its own, against the debug
/// binaries on the host and a database of their own.
async fn schemathesis_alone() -> anyhow::Result<()> {
    infra(Storage::Durable).await?;
    progress::step("building the services");
    services::build()?;
    let database = format!("harbor_test_schemathesis_{}", std::process::id());
    shop_db::provision::provision(&postgres::admin_url(), &database).await?;
    // On the host, not in the image: `test` checks the image, this is for iterating.
    let env = services::local_env(&database);
    let outcome = async {
        let running = services::start_all(services::on_host(&env))?;
        let outcome = match services::wait_until_ready(&running).await {
            Ok(()) => schemathesis::run(&services::admin_password()).await,
            Err(error) => Err(error),
        };
        services::stop_all(running);
        outcome
    }
    .await;
    shop_db::provision::drop_database(&postgres::admin_url(), &database).await?;
    outcome
}

async fn test() -> anyhow::Result<()> {
    test_with(tansu::start_if_missing()?).await
}

/// `test`, with tansu's install (if it had to start) running beside the build.
async fn test_with(tansu: Option<tansu::Build>) -> anyhow::Result<()> {
    if let Some(install) = tansu {
        progress::step("building the test suites while tansu builds");
        // The same features as the nextest run below, so that it finds everything built.
        let built = workspace::cargo(&[
            "test",
            "--workspace",
            "--features",
            "recommendations/lambda",
            "--no-run",
        ]);
        install.finish()?;
        built?;
    }
    infra(Storage::Memory).await?;
    progress::step("removing databases left by interrupted tests");
    let removed = postgres::drop_stale_test_databases().await?;
    progress::done(&format!("{removed} removed"));

    progress::step("test suites");
    let nextest = Command::new("cargo")
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|out| out.status.success());
    if nextest {
        workspace::cargo(&[
            "nextest",
            "run",
            "--workspace",
            // Recommendations' Lambda function and its test (tests/lambda) are built only
            // with this feature.
            "--features",
            "recommendations/lambda",
            "--no-fail-fast",
            "--profile",
            "ci",
        ])?;
        // nextest does not run doc-tests. The same features again: another set would
        // rebuild every crate below recommendations.
        workspace::cargo(&[
            "test",
            "--workspace",
            "--features",
            "recommendations/lambda",
            "--doc",
        ])?;
        progress::step(
            "users and shop-server again, optimised (the sign-up burst, sign-in throttling \
             and connection timeouts as release code meets them)",
        );
        workspace::cargo(&[
            "nextest",
            "run",
            "--cargo-profile",
            "release-tests",
            "--package",
            "users",
            "--package",
            "shop-server",
            "--no-fail-fast",
            "--profile",
            "ci",
        ])?;
    } else {
        workspace::cargo(&[
            "test",
            "--workspace",
            "--features",
            "recommendations/lambda",
            "--no-fail-fast",
        ])?;
    }

    progress::step("recommendations as a Lambda function: `cargo xtask lambda`, short");
    lambda::run(lambda::Plan::SHORT).await?;

    progress::step("deploy files: compose, Kubernetes manifests, Dockerfile, env drift");
    workspace::run({
        let mut validate = Command::new("bash");
        validate
            .arg(workspace::root().join("deploy/validate.sh"))
            .current_dir(workspace::root());
        validate
    })?;

    progress::step("the runtime image: every service in distroless cc-debian12's file system");
    services::build()?;
    // A database of its own, so the run neither depends on nor disturbs the demo's `shop`.
    let database = format!("harbor_test_load_{}", std::process::id());
    shop_db::provision::provision(&postgres::admin_url(), &database).await?;
    let outcome = in_the_image(
        services::Profile::Debug,
        &database,
        |_, admin_password| async move {
            progress::step(
                "load test: shoppers on the storefront (register, browse, cart, checkout)",
            );
            let report = workspace::root().join("target/load-tests/smoke.html");
            // Fails on any failed request or step, and if a step of the mix never ran.
            workspace::cargo(&[
                "run",
                "--quiet",
                "--package",
                "load-tests",
                "--",
                "--host",
                "http://127.0.0.1:8080",
                "--users",
                "4",
                "--hatch-rate",
                "4",
                "--run-time",
                "10s",
                "--report-file",
                &report.to_string_lossy(),
            ])?;
            schemathesis::run(&admin_password).await
        },
    )
    .await;
    shop_db::provision::drop_database(&postgres::admin_url(), &database).await?;
    outcome?;

    progress::step("a new service from the skeleton: `cargo xtask new-service --drill`");
    new_service::run(&["--drill".to_owned()]).await?;
    progress::done("all tests passed");
    Ok(())
}

/// Runs the five `profile` binaries inside the runtime image's file system with the
/// environment compose gives them, against the real Postgres (`database`) and broker;
/// waits until each is ready, runs each one's `healthcheck` inside the image, then `then`
/// while they serve, with the administrator's password they were given. Without root (chroot) the services run on the host instead, except in
/// CI, which must check the image.
async fn in_the_image<F, Fut>(
    profile: services::Profile,
    database: &str,
    then: F,
) -> anyhow::Result<()>
where
    F: FnOnce(&services::Running, String) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let local_env = services::local_env(database);
    let image = if image::running_as_root() {
        let root = image::RuntimeRoot::assemble()?;
        for service in services::SERVICES {
            root.install(service.name, &profile.binary(service.name))?;
            let missing = root.missing_libraries(service.name)?;
            if !missing.is_empty() {
                bail!(
                    "{} needs {}, which the runtime image does not have \
                     (its packages: {}); it would die at start in its container",
                    service.name,
                    missing.join(", "),
                    image::PACKAGE_LIST
                );
            }
        }
        progress::done("every binary finds all its shared libraries in the image");
        let (host, port) = postgres::server()?;
        let env = image::compose_environment(database, (&host, port), &broker::address())?;
        Some((root, env))
    } else if std::env::var_os("CI").is_some() {
        bail!("the image check needs root (chroot, mount namespaces), as CI has");
    } else {
        progress::note("not root: the image check is skipped, the services run on the host");
        None
    };
    let env_of = |name: &str| -> Vec<(String, String)> {
        image
            .as_ref()
            .and_then(|(_, env)| env.get(name).cloned())
            .unwrap_or_default()
    };
    let running = match &image {
        Some((root, _)) => {
            services::start_all(|service| root.command(service.name, &[], &env_of(service.name)))?
        }
        None => services::start_all(services::on_host(&local_env))?,
    };
    let outcome = async {
        services::wait_until_ready(&running).await?;
        if let Some((root, _)) = &image {
            for (name, pid) in running.pids() {
                root.assert_confined(name, pid)?;
            }
            progress::done(
                "each runs as 65532:65532, chrooted into the image, on a read-only root",
            );
            for service in services::SERVICES {
                let output = root
                    .command(service.name, &["healthcheck"], &env_of(service.name))
                    .output()
                    .context("running healthcheck in the image")?;
                if !output.status.success() {
                    bail!(
                        "`{} healthcheck` in the image failed ({}): {}",
                        service.name,
                        output.status,
                        String::from_utf8_lossy(&output.stderr)
                    );
                }
            }
            progress::done("`<service> healthcheck` answers 0 inside the image for all five");
        }
        // Compose's default in the image, `ADMIN_PASSWORD` or the demo's on the host.
        let admin_password = env_of("users")
            .into_iter()
            .find(|(key, _)| key == "ADMIN_PASSWORD")
            .map_or_else(services::admin_password, |(_, value)| value);
        then(&running, admin_password).await
    }
    .await;
    services::stop_all(running);
    outcome
}
