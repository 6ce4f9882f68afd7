//! `users.revoked_tokens`: the ids of access tokens signed out before they expired.

use shop_db::query_span;
use sqlx::PgPool;
use tracing::Instrument;
use uuid::Uuid;

/// Revokes the token `jti`, which expires at `expires_at` (seconds since the Unix epoch),
/// and forgets revocations whose tokens have expired since.
pub async fn revoke(pool: &PgPool, jti: Uuid, expires_at: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO users.revoked_tokens (jti, expires_at) VALUES ($1, to_timestamp($2)) \
         ON CONFLICT (jti) DO NOTHING",
        jti,
        expires_at as f64,
    )
    .execute(pool)
    .instrument(query_span("INSERT", "revoked_tokens"))
    .await?;
    sqlx::query!("DELETE FROM users.revoked_tokens WHERE expires_at < now()")
        .execute(pool)
        .instrument(query_span("DELETE", "revoked_tokens"))
        .await?;
    Ok(())
}

/// Whether the token `jti` was revoked.
pub async fn is_revoked(pool: &PgPool, jti: Uuid) -> Result<bool, sqlx::Error> {
    let revoked = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM users.revoked_tokens WHERE jti = $1) AS "revoked!""#,
        jti
    )
    .fetch_one(pool)
    .instrument(query_span("SELECT", "revoked_tokens"))
    .await?;
    Ok(revoked)
}
