//! The recommendations schema: migrations (in `migrations/`) and the queries on it.
//!
//! `signals` records what other services' events teach (purchases, products); `tiers`
//! reads each tier's recommendations back.

mod signals;
mod tiers;

pub use signals::{mark_product_deleted, record_purchase, upsert_product};
pub use tiers::{co_purchased, personalized, popular, static_list, trending};

/// Applied at start-up, inside the service's own schema.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("src/db/migrations");
