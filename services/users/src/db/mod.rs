//! The users schema: migrations (in `migrations/`) and the queries on it.

pub mod accounts;
pub mod login_failures;
pub mod revoked_tokens;
pub mod signing_keys;

/// Applied at start-up, inside the service's own schema.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("src/db/migrations");
