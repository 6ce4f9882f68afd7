//! The administrator account, from configuration: there is no other way to get one.

use crate::config::AdminConfig;
use crate::domain::account::{Email, UserName};
use crate::domain::password::Password;
use crate::hasher::PasswordHasher;
use crate::{db, events};
use anyhow::Context;
use sqlx::PgPool;
use uuid::Uuid;

/// The display name of an admin account created here.
const ADMIN_NAME: &str = "Administrator";

/// Creates the admin account (announcing it like any new account), or brings an existing
/// account under `ADMIN_EMAIL` to the admin role and the configured password. Running it again changes nothing visible, so
/// every instance runs it at start-up. Without `ADMIN_PASSWORD` it does nothing.
pub async fn ensure_admin(
    pool: &PgPool,
    hasher: &PasswordHasher,
    admin: &AdminConfig,
) -> anyhow::Result<Option<Uuid>> {
    let Some(password) = &admin.password else {
        tracing::warn!("ADMIN_PASSWORD is not set: no admin account is created");
        return Ok(None);
    };
    let email = Email::parse(&admin.email).map_err(|e| anyhow::anyhow!("ADMIN_EMAIL {e}"))?;
    let password = Password::parse(password.expose().to_owned())
        .map_err(|e| anyhow::anyhow!("ADMIN_PASSWORD {e}"))?;
    let name = UserName::parse(ADMIN_NAME).map_err(anyhow::Error::msg)?;
    let hash = hasher.hash(password).await?;
    let mut tx = pool.begin().await?;
    let (id, created) = db::accounts::upsert_admin(&mut tx, &email, &name, &hash)
        .await
        .context("storing the admin account")?;
    if created {
        // The other services learn of every account, the administrator's too.
        let registered = events::user_registered(id, email.as_str(), name.as_str());
        shop_events::outbox::enqueue(&mut tx, &registered).await?;
    }
    tx.commit().await?;
    tracing::info!(%id, email = email.as_str(), created, "admin account ready");
    Ok(Some(id))
}
