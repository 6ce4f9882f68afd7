//! The orders schema: migrations (in `migrations/`) and the queries on it, by table:
//! `orders` (orders and their lines), `status` (an order's status and the saga's
//! bookkeeping), `prices` (the replica of catalog's prices).

mod orders;
mod prices;
mod status;

pub use orders::{NewOrder, find_by_idempotency_key, get_order, insert_order, list_orders};
pub use prices::{ReplicatedProduct, mark_product_deleted, replicated_products, upsert_product};
pub use status::{
    Awaiting, lock_awaiting_catalog, lock_pending_older_than, lock_status, record_asked_again,
    record_stock_released, set_status,
};

/// Applied at start-up, inside the service's own schema.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("src/db/migrations");
