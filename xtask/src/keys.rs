//! `cargo xtask rotate-keys`: a new token signing key for the running demo (`up`), through
//! the users service's `POST /v1/signing-keys` as the administrator. The new key is
//! published at once and signs after the activation delay; tokens signed before stay
//! valid until they expire (`services/users/src/tokens.rs`).

use crate::{progress, services};
use anyhow::{Context, ensure};
use serde_json::Value;

pub async fn rotate() -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let users = services::url("users", "");
    let admin = services::sign_in(
        &http,
        &users,
        services::ADMIN_EMAIL,
        &services::admin_password(),
    )
    .await
    .context("is `cargo xtask up` running?")?;
    let answer = http
        .post(format!("{users}/v1/signing-keys"))
        .bearer_auth(admin)
        .send()
        .await
        .context("users does not answer")?;
    let status = answer.status();
    let body: Value = answer.json().await.context("an unreadable answer")?;
    ensure!(status.is_success(), "users refused ({status}): {body}");
    progress::done(&format!(
        "new signing key {} signs in {} s; published: {}",
        body["kid"].as_str().unwrap_or("?"),
        body["active_in_seconds"],
        body["published"]
    ));
    Ok(())
}
