//! Schemathesis against the five running services: every check, authenticated, bounded.
//!
//! Each service's `/openapi.json` is its contract; schemathesis generates requests from it
//! (valid and invalid ones) and checks every answer against it: no 500, every status,
//! media type, header and body documented, invalid input refused, valid input accepted,
//! authentication not ignored. What it runs with is in `schemathesis.toml` at the root;
//! this module installs the pinned release, signs in an administrator and a customer and
//! runs it once per service and token.

use crate::{progress, services, workspace};
use anyhow::{Context, bail, ensure};
use serde_json::json;
use std::path::PathBuf;
use std::process::Command;

/// The release the committed `schemathesis.toml` was written for.
const SCHEMATHESIS: &str = "schemathesis==4.32.5";

/// Who the requests are sent as.
struct Identity {
    name: &'static str,
    token: String,
}

/// Runs schemathesis against each of the five services (as started by `in_the_image` or
/// `up`), signing in the administrator with `admin_password`; fails if any check failed on
/// any of them, after all have run.
pub async fn run(admin_password: &str) -> anyhow::Result<()> {
    let binary = install()?;
    let http = reqwest::Client::new();
    let users = services::url("users", "");
    let config = workspace::root().join("schemathesis.toml");
    let reports = workspace::root().join("target/schemathesis");
    let mut failed = Vec::new();
    for service in services::SERVICES {
        // The administrator may do everything a customer may, and more: with the admin's
        // token every operation is reachable. The customer's run is what a shopper sees:
        // refusals (403) and their own orders, on the services that tell them apart.
        let identities: &[&str] = match service.name {
            "orders" | "storefront" | "users" => &["admin", "customer"],
            _ => &["admin"],
        };
        for &name in identities {
            // A token of its own for each run: users' run signs its token out
            // (`DELETE /v1/sessions/current`), which must not leave the next runs with a
            // revoked one.
            let token = match name {
                "admin" => {
                    services::sign_in(&http, &users, services::ADMIN_EMAIL, admin_password).await?
                }
                _ => customer(&http, &users).await?,
            };
            let identity = Identity { name, token };
            progress::step(&format!(
                "schemathesis: {} as the {} (all checks)",
                service.name, identity.name
            ));
            let report = reports.join(format!("{}-{}", service.name, identity.name));
            let status = Command::new(&binary)
                .arg("--config-file")
                .arg(&config)
                .arg("run")
                .arg(services::url(service.name, "/openapi.json"))
                .args(["--report", "junit"])
                .arg("--report-dir")
                .arg(&report)
                // The token goes in through the environment that `schemathesis.toml`
                // reads, never on a command line others can see.
                .env("SCHEMATHESIS_TOKEN", &identity.token)
                .env("NO_COLOR", "1")
                .current_dir(workspace::root())
                .status()
                .context("running schemathesis")?;
            if !status.success() {
                failed.push(format!("{} as the {}", service.name, identity.name));
            }
        }
    }
    if !failed.is_empty() {
        bail!(
            "schemathesis found failures on: {} (JUnit reports in {})",
            failed.join(", "),
            reports.display()
        );
    }
    progress::done("schemathesis: no failures on any of the five services");
    Ok(())
}

/// A customer of this run's own, registered and signed in.
async fn customer(http: &reqwest::Client, users: &str) -> anyhow::Result<String> {
    let email = format!("schemathesis-{}@example.com", uuid::Uuid::new_v4().simple());
    let password = "schemathesis's password";
    let registered = http
        .post(format!("{users}/v1/users"))
        .json(&json!({ "email": email, "password": password, "name": "Schemathesis" }))
        .send()
        .await
        .context("users does not answer")?;
    ensure!(
        registered.status().is_success(),
        "sign-up: {}",
        registered.status()
    );
    services::sign_in(http, users, &email, password).await
}

/// schemathesis in `target/schemathesis-venv`, installed if it is not the pinned release.
fn install() -> anyhow::Result<PathBuf> {
    let venv = workspace::root().join("target").join("schemathesis-venv");
    let binary = venv.join("bin").join("schemathesis");
    let version = SCHEMATHESIS.rsplit('=').next().unwrap_or_default();
    let wanted = format!("schemathesis, version {version}");
    let installed = |binary: &PathBuf| {
        Command::new(binary)
            .arg("--version")
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    if installed(&binary).is_some_and(|out| out == wanted) {
        progress::done(&format!("reusing {}", binary.display()));
        return Ok(binary);
    }
    progress::step(&format!(
        "installing {SCHEMATHESIS} into {}",
        venv.display()
    ));
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    workspace::run({
        let mut command = Command::new(&python);
        command.args(["-m", "venv", "--clear"]).arg(&venv);
        command
    })?;
    workspace::run({
        let mut command = Command::new(venv.join("bin").join("python"));
        command
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .arg(SCHEMATHESIS);
        command
    })?;
    let out = installed(&binary).context("schemathesis installed but does not run")?;
    ensure!(out == wanted, "installed {out}, wanted {SCHEMATHESIS}");
    progress::done(&format!("installed {out}"));
    Ok(binary)
}
