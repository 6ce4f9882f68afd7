//! `users.login_failures`: failed sign-ins per account and per client address.
//!
//! Times come from the database's clock, the same for every instance.

use crate::domain::throttle::AttemptKeys;
use shop_db::query_span;
use sqlx::PgPool;
use std::time::Duration;
use tracing::Instrument;

/// How long until `keys` may try again, if any of them has `max_failures` failures in the
/// current `window`.
pub async fn lockout(
    pool: &PgPool,
    keys: &AttemptKeys,
    max_failures: i32,
    window: Duration,
) -> Result<Option<Duration>, sqlx::Error> {
    let (scopes, subjects): (Vec<_>, Vec<_>) = keys.pairs().into_iter().unzip();
    let remaining = sqlx::query_scalar!(
        r#"
        SELECT extract(epoch FROM max(window_started_at) + make_interval(secs => $3) - now())::float8
        FROM users.login_failures
        WHERE (scope, subject) IN (SELECT * FROM unnest($1::text[], $2::text[]))
          AND failures >= $4
          AND window_started_at > now() - make_interval(secs => $3)
        "#,
        &scopes as &[&str],
        &subjects,
        window.as_secs_f64(),
        max_failures,
    )
    .fetch_one(pool)
    .instrument(query_span("SELECT", "login_failures"))
    .await?;
    Ok(remaining.map(|secs| Duration::from_secs_f64(secs.max(0.0))))
}

/// Counts one failure for each of `keys`, starting a new window where the last one is over.
pub async fn record(
    pool: &PgPool,
    keys: &AttemptKeys,
    window: Duration,
) -> Result<(), sqlx::Error> {
    let (scopes, subjects): (Vec<_>, Vec<_>) = keys.pairs().into_iter().unzip();
    sqlx::query!(
        r#"
        INSERT INTO users.login_failures AS f (scope, subject, failures, window_started_at)
        SELECT scope, subject, 1, now() FROM unnest($1::text[], $2::text[]) AS k(scope, subject)
        ON CONFLICT (scope, subject) DO UPDATE SET
            failures = CASE WHEN f.window_started_at > now() - make_interval(secs => $3)
                            THEN f.failures + 1 ELSE 1 END,
            window_started_at = CASE WHEN f.window_started_at > now() - make_interval(secs => $3)
                                     THEN f.window_started_at ELSE now() END
        "#,
        &scopes as &[&str],
        &subjects,
        window.as_secs_f64(),
    )
    .execute(pool)
    .instrument(query_span("UPSERT", "login_failures"))
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
