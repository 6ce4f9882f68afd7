//! The administrator account, from configuration: there is no other way to get one.

use crate::config::AdminConfig;
use crate::db;
use crate::domain::account::{Email, UserName};
use crate::domain::password::{self, Password};
use anyhow::Context;
use sqlx::PgPool;
use uuid::Uuid;

/// The display name of an admin account created here.
const ADMIN_NAME: &str = "Administrator";

/// Creates the admin account, or brings an existing account under `ADMIN_EMAIL` to the
/// admin role and the configured password. Running it again changes nothing visible, so
/// every instance runs it at start-up. Without `ADMIN_PASSWORD` it does nothing.
pub async fn ensure_admin(pool: &PgPool, admin: &AdminConfig) -> anyhow::Result<Option<Uuid>> {
    let Some(password) = &admin.password else {
        tracing::warn!("ADMIN_PASSWORD is not set: no admin account is created");
        return Ok(None);
    };
    let email = Email::parse(&admin.email).map_err(|e| anyhow::anyhow!("ADMIN_EMAIL {e}"))?;
    let password = Password::parse(password.expose().to_owned())
        .map_err(|e| anyhow::anyhow!("ADMIN_PASSWORD {e}"))?;
    let name = UserName::parse(ADMIN_NAME).map_err(anyhow::Error::msg)?;
    let hash = password::hash(password).await?;
    let (id, created) = db::accounts::upsert_admin(pool, &email, &name, &hash)
        .await
        .context("storing the admin account")?;
    tracing::info!(%id, email = email.as_str(), created, "admin account ready");
    Ok(Some(id))
}
