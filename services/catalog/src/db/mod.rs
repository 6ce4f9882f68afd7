//! The catalog schema: migrations (in `migrations/`) and the queries on it.

pub mod categories;
pub mod products;
pub mod seed;
mod seed_data;
pub mod stock;

/// Applied at start-up, inside the service's own schema.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("src/db/migrations");

/// The name of the constraint a database error violated, if any.
pub fn violated_constraint(error: &sqlx::Error) -> Option<&str> {
    error.as_database_error()?.constraint()
}
