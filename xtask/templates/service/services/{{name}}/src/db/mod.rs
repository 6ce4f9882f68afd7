//! The {{name}} schema: migrations (in `migrations/`) and the queries on it.
//!
//! Queries only: each takes a connection (or a transaction) and returns `sqlx::Error`;
//! which queries run together, and in which transaction, is for `crate::actions`.

mod items;

pub use items::{count_items, delete_item, delete_product, list_items, lock_list, save_item};

/// Applied at start-up, inside the service's own schema.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("src/db/migrations");
