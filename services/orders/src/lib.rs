//! Harbor Shop's orders service: checkout, order history, and each order's progress from
//! `pending` to `confirmed`, `rejected` or `cancelled`.
//!
//! `config` reads the environment, `app` assembles the router and its state, `routes`
//! holds the HTTP handlers, `domain` the rules, `db` the queries and migrations, `catalog`
//! the calls to the catalog service, and `checkout` the confirmation of placed orders.

pub mod app;
pub mod catalog;
pub mod checkout;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod routes;
