//! Signing in: an email address and password exchanged for an access token, with failed
//! attempts throttled per account and per client address.

use crate::app::AppState;
use crate::db;
use crate::db::accounts::Credentials;
use crate::domain::account::email_key;
use crate::domain::throttle::{self, Scope, WINDOW};
use crate::error::Error;
use crate::tokens::AccessToken;
use std::net::IpAddr;

/// A token for the account with this `email` and `password`, asked from address `ip`
/// (`None` when the connection's is unknown).
///
/// The attempt is counted first (refused with `TooManyAttempts` over a limit) and taken
/// back when it succeeds or could not be checked (every hasher busy, the database gone):
/// only a wrong password counts as a failure.
pub async fn sign_in(
    state: &AppState,
    email: &str,
    password: String,
    ip: Option<IpAddr>,
) -> Result<AccessToken, Error> {
    let attempt = Attempt::count(state, throttle::keys(&email_key(email), ip)).await?;
    let checked = check_password(state, email, password).await;
    let account = match checked {
        Ok(Some(account)) => account,
        Ok(None) => {
            // Counted already: the attempt stays a failure.
            // Failed sign-ins are what fill the table: they also empty it of the expired.
            db::login_failures::forget_expired(&state.db, WINDOW).await?;
            return Err(Error::InvalidCredentials);
        }
        Err(error) => {
            // Not checked (every hasher busy, the database gone): not a failure either.
            attempt.uncount(state).await?;
            return Err(error);
        }
    };
    attempt.succeeded(state).await?;
    Ok(state.tokens.issue(account.id, account.role).await?)
}

/// The account with this `email` and `password`, if any.
async fn check_password(
    state: &AppState,
    email: &str,
    password: String,
) -> Result<Option<Credentials>, Error> {
    let account = db::accounts::find_credentials(&state.db, email).await?;
    let hash = account
        .as_ref()
        .map(|account| account.password_hash.clone());
    let verified = state.hasher.verify(password, hash).await?;
    Ok(account.filter(|_| verified))
}

/// A sign-in attempt, counted against each of its keys and within every limit.
struct Attempt {
    keys: Vec<(Scope, String)>,
}

impl Attempt {
    /// Counts the attempt against each key in turn; over a key's limit, takes it back
    /// from the keys before and refuses it (429), so a refusal is never a failure.
    async fn count(state: &AppState, keys: Vec<(Scope, String)>) -> Result<Self, Error> {
        for (counted, (scope, subject)) in keys.iter().enumerate() {
            let count =
                db::login_failures::count_attempt(&state.db, *scope, subject, WINDOW).await?;
            if let Some(wait) = count.refusal(scope.limit(&state.sign_in_limits)) {
                let refused = Self {
                    keys: keys[..=counted].to_vec(),
                };
                refused.uncount(state).await?;
                return Err(Error::TooManyAttempts(wait));
            }
        }
        Ok(Self { keys })
    }

    async fn uncount(&self, state: &AppState) -> Result<(), Error> {
        for (scope, subject) in &self.keys {
            db::login_failures::uncount_attempt(&state.db, *scope, subject).await?;
        }
        Ok(())
    }

    /// The account's failures are forgotten; the address's keep counting, without this one.
    async fn succeeded(&self, state: &AppState) -> Result<(), Error> {
        for (scope, subject) in &self.keys {
            match scope {
                Scope::Account => db::login_failures::clear_account(&state.db, subject).await?,
                Scope::Address => {
                    db::login_failures::uncount_attempt(&state.db, *scope, subject).await?;
                }
            }
        }
        Ok(())
    }
}
