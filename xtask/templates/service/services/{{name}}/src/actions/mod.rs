//! The {{name}} service's flows, one file each: every change of state has its home here.
//!
//! - [`save`]: a customer puts a product on their list (or changes its note).
//! - [`remove`]: a customer takes a product off their list.
//! - [`forget`]: a product deleted from the catalog leaves every list (from an event).
//!
//! An action opens the transaction, asks `domain` (pure rules) what is allowed and runs
//! `db` queries. `routes` and `events` only translate HTTP and events into calls to these.
//! Reads that change nothing (`GET`) call `db` directly.

pub mod forget;
pub mod remove;
pub mod save;
