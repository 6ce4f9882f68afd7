//! Registering a customer account.

use crate::app::AppState;
use crate::domain::account::{Account, NewAccount};
use crate::error::{Error, ResultExt};
use crate::{db, events};

/// Creates the account (the password hashed on a bounded pool) and announces it
/// (`UserRegistered`) in one transaction. An address taken in any case is `EmailTaken`.
pub async fn register(
    state: &AppState,
    email: &str,
    name: &str,
    password: String,
) -> Result<Account, Error> {
    let new = NewAccount::parse(email, name, password).map_err(Error::Invalid)?;
    let hash = state.hasher.hash(new.password).await?;
    // The account and its announcement commit together, or neither does.
    let mut tx = state.db.begin().await?;
    // The unique index decides, so two concurrent registrations cannot both succeed.
    let account = db::accounts::insert(&mut tx, &new.email, &new.name, &hash)
        .await
        .on_constraint(db::accounts::EMAIL_KEY, || Error::EmailTaken)?;
    let registered = events::user_registered(account.id, &account.email, &account.name);
    shop_events::outbox::enqueue(&mut tx, &registered).await?;
    tx.commit().await?;
    Ok(account)
}
