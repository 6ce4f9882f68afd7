//! `users.login_failures`: sign-in attempts per account and per client address (those
//! that failed, and those being checked right now).
//!
//! Times come from the database's clock, the same for every instance.

use crate::domain::throttle::{Count, Scope};
use shop_db::query_span;
use sqlx::PgPool;
use std::time::Duration;
use tracing::Instrument;

/// Adds one attempt to `subject`'s count in `scope`, starting a new window where the last
/// one is over: the count with this attempt in it. One statement, so concurrent attempts
/// each see their own number.
pub async fn count_attempt(
    pool: &PgPool,
    scope: Scope,
    subject: &str,
    window: Duration,
) -> Result<Count, sqlx::Error> {
    let row = sqlx::query!(
        r#"
        INSERT INTO users.login_failures AS f (scope, subject, failures, window_started_at)
        VALUES ($1, $2, 1, now())
        ON CONFLICT (scope, subject) DO UPDATE SET
            failures = CASE WHEN f.window_started_at > now() - make_interval(secs => $3)
                            THEN f.failures + 1 ELSE 1 END,
            window_started_at = CASE WHEN f.window_started_at > now() - make_interval(secs => $3)
                                     THEN f.window_started_at ELSE now() END
        RETURNING failures,
            extract(epoch FROM window_started_at + make_interval(secs => $3) - now())::float8
                AS "remaining_secs!"
        "#,
        scope.as_str(),
        subject,
        window.as_secs_f64(),
    )
    .fetch_one(pool)
    .instrument(query_span("UPSERT", "login_failures"))
    .await?;
    Ok(Count {
        // At least 1 after this upsert; a negative count is a broken row, said so.
        attempts: u32::try_from(row.failures)
            .map_err(|error| sqlx::Error::Decode(Box::new(error)))?,
        remaining: Duration::from_secs_f64(row.remaining_secs.max(0.0)),
    })
}

/// Takes back an attempt [`count_attempt`] added that did not fail: it was refused by
/// another key's limit, it could not be checked (no hasher free), or it succeeded.
pub async fn uncount_attempt(
    pool: &PgPool,
    scope: Scope,
    subject: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE users.login_failures SET failures = failures - 1 \
         WHERE scope = $1 AND subject = $2 AND failures > 0",
        scope.as_str(),
        subject,
    )
    .execute(pool)
    .instrument(query_span("UPDATE", "login_failures"))
    .await?;
    Ok(())
}

/// Forgets the failures of an account (after it signed in).
pub async fn clear_account(pool: &PgPool, email_key: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "DELETE FROM users.login_failures WHERE scope = 'email' AND subject = $1",
        email_key,
    )
    .execute(pool)
    .instrument(query_span("DELETE", "login_failures"))
    .await?;
    Ok(())
}

/// Deletes the failures whose `window` is over: they lock nothing any more, and without
/// this every address that ever mistyped a password would stay in the table.
pub async fn forget_expired(pool: &PgPool, window: Duration) -> Result<u64, sqlx::Error> {
    let deleted = sqlx::query!(
        "DELETE FROM users.login_failures WHERE window_started_at <= now() - make_interval(secs => $1)",
        window.as_secs_f64(),
    )
    .execute(pool)
    .instrument(query_span("DELETE", "login_failures"))
    .await?;
    Ok(deleted.rows_affected())
}
