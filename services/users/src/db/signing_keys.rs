//! `users.signing_keys`: the generated token signing keys, shared by every instance; the
//! newest signs, and the ones it replaced stay published while their tokens may live.

use shop_db::query_span;
use sqlx::PgPool;
use tracing::Instrument;

/// The stored signing key (PKCS#8 PEM); when there is none yet, stores `candidate_pem`
/// (whose key id is `candidate_kid`) and returns it. Instances starting together agree:
/// the table lock makes the second wait for the first and then find its key.
pub async fn get_or_insert(
    pool: &PgPool,
    candidate_kid: &str,
    candidate_pem: &str,
) -> Result<String, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query!("LOCK TABLE users.signing_keys IN SHARE ROW EXCLUSIVE MODE")
        .execute(&mut *tx)
        .instrument(query_span("LOCK", "signing_keys"))
        .await?;
    let stored = sqlx::query_scalar!(
        "SELECT private_key_pem FROM users.signing_keys ORDER BY active_from DESC LIMIT 1"
    )
    .fetch_optional(&mut *tx)
    .instrument(query_span("SELECT", "signing_keys"))
    .await?;
    let pem = match stored {
        Some(pem) => pem,
        None => {
            sqlx::query!(
                "INSERT INTO users.signing_keys (kid, private_key_pem) VALUES ($1, $2)",
                candidate_kid,
                candidate_pem,
            )
            .execute(&mut *tx)
            .instrument(query_span("INSERT", "signing_keys"))
            .await?;
            candidate_pem.to_owned()
        }
    };
    tx.commit().await?;
    Ok(pem)
}

/// The newest active key (PKCS#8 PEM): the one that signs.
pub async fn current(pool: &PgPool) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT private_key_pem FROM users.signing_keys WHERE active_from <= now() \
         ORDER BY active_from DESC LIMIT 1"
    )
    .fetch_optional(pool)
    .instrument(query_span("SELECT", "signing_keys"))
    .await
}

/// The keys to publish, newest first: one that will sign soon (rotated, not active yet),
/// the current one, and each older one that a newer one replaced less than
/// `token_lifetime` ago (its tokens may still be valid).
pub async fn published(
    pool: &PgPool,
    token_lifetime: std::time::Duration,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"
        SELECT private_key_pem AS "private_key_pem!" FROM (
            SELECT private_key_pem, active_from,
                   lead(active_from) OVER (ORDER BY active_from) AS replaced_at
            FROM users.signing_keys
        ) AS k
        WHERE replaced_at IS NULL OR replaced_at > now() - make_interval(secs => $1)
        ORDER BY active_from DESC
        "#,
        token_lifetime.as_secs_f64(),
    )
    .fetch_all(pool)
    .instrument(query_span("SELECT", "signing_keys"))
    .await
}

/// Stores a new key, which signs once `activation_delay` has passed.
pub async fn insert(
    pool: &PgPool,
    kid: &str,
    pem: &str,
    activation_delay: std::time::Duration,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO users.signing_keys (kid, private_key_pem, active_from) \
         VALUES ($1, $2, now() + make_interval(secs => $3))",
        kid,
        pem,
        activation_delay.as_secs_f64(),
    )
    .execute(pool)
    .instrument(query_span("INSERT", "signing_keys"))
    .await?;
    Ok(())
}
