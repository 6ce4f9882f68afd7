//! `users.accounts`.

use crate::domain::account::{Account, Email, UserName};
use crate::domain::password::PasswordHash;
use shop_auth::Role;
use shop_db::query_span;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use tracing::Instrument;
use uuid::Uuid;

/// The unique index on `lower(email)`: violating it means the address is taken.
pub const EMAIL_KEY: &str = "accounts_email_key";

/// What signing in needs to know about an account.
#[derive(Debug)]
pub struct Credentials {
    pub id: Uuid,
    pub role: Role,
    pub password_hash: PasswordHash,
}

/// Adds a customer account. Fails on [`EMAIL_KEY`] if the address is taken, in any case.
/// Run it in the transaction that also announces the account.
pub async fn insert(
    conn: &mut PgConnection,
    email: &Email,
    name: &UserName,
    password_hash: &PasswordHash,
) -> Result<Account, sqlx::Error> {
    sqlx::query_as!(
        AccountRow,
        r#"
        INSERT INTO users.accounts (id, email, name, password_hash, role)
        VALUES ($1, $2, $3, $4, 'customer')
        RETURNING id, email, name, role, created_at
        "#,
        Uuid::now_v7(),
        email.as_str(),
        name.as_str(),
        password_hash.0,
    )
    .fetch_one(conn)
    .instrument(query_span("INSERT", "accounts"))
    .await?
    .try_into()
}

pub async fn find(pool: &PgPool, id: Uuid) -> Result<Option<Account>, sqlx::Error> {
    sqlx::query_as!(
        AccountRow,
        "SELECT id, email, name, role, created_at FROM users.accounts WHERE id = $1",
        id,
    )
    .fetch_optional(pool)
    .instrument(query_span("SELECT", "accounts"))
    .await?
    .map(Account::try_from)
    .transpose()
}

/// The account registered under `email`, compared without regard to case.
pub async fn find_credentials(
    pool: &PgPool,
    email: &str,
) -> Result<Option<Credentials>, sqlx::Error> {
    let row = sqlx::query!(
        r#"
        SELECT id, role, password_hash FROM users.accounts
        WHERE lower(email) = lower($1)
        "#,
        email.trim(),
    )
    .fetch_optional(pool)
    .instrument(query_span("SELECT", "accounts"))
    .await?;
    row.map(|row| {
        Ok(Credentials {
            id: row.id,
            role: parse_role(&row.role)?,
            password_hash: PasswordHash(row.password_hash),
        })
    })
    .transpose()
}

/// Makes `email` an admin account with this password: creates it, or updates the account
/// already registered under the address (in any case). Returns its id and whether it was
/// created.
pub async fn upsert_admin(
    conn: &mut PgConnection,
    email: &Email,
    name: &UserName,
    password_hash: &PasswordHash,
) -> Result<(Uuid, bool), sqlx::Error> {
    let row = sqlx::query!(
        r#"
        INSERT INTO users.accounts (id, email, name, password_hash, role)
        VALUES ($1, $2, $3, $4, 'admin')
        ON CONFLICT ((lower(email))) DO UPDATE
            SET password_hash = EXCLUDED.password_hash, role = 'admin', updated_at = now()
        -- xmax is 0 only on a row this statement inserted.
        RETURNING id, (xmax = 0) AS "created!"
        "#,
        Uuid::now_v7(),
        email.as_str(),
        name.as_str(),
        password_hash.0,
    )
    .fetch_one(conn)
    .instrument(query_span("UPSERT", "accounts"))
    .await?;
    Ok((row.id, row.created))
}

struct AccountRow {
    id: Uuid,
    email: String,
    name: String,
    role: String,
    created_at: OffsetDateTime,
}

impl TryFrom<AccountRow> for Account {
    type Error = sqlx::Error;

    fn try_from(row: AccountRow) -> Result<Self, Self::Error> {
        Ok(Self {
            id: row.id,
            email: row.email,
            name: row.name,
            role: parse_role(&row.role)?,
            created_at: row.created_at,
        })
    }
}

/// The column's CHECK constraint allows only known roles; anything else is a decode error.
fn parse_role(role: &str) -> Result<Role, sqlx::Error> {
    role.parse().map_err(|e| sqlx::Error::Decode(Box::new(e)))
}
