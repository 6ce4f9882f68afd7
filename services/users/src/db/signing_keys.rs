//! `users.signing_keys`: the generated token signing key, shared by every instance.

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
        "SELECT private_key_pem FROM users.signing_keys ORDER BY created_at DESC LIMIT 1"
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
