//! The catalog schema: migrations (in `migrations/`) and the queries on it.

/// Applied at start-up, inside the service's own schema.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("src/db/migrations");
