//! Harbor Shop's orders service: checkout, order history, and each order's progress from
//! `pending` to `confirmed`, `rejected` or `cancelled`.
//!
//! `config` reads the environment, `app` assembles the router and its state, `actions`
//! holds each state change (the business flows), `routes` the HTTP handlers that call
//! them, `domain` the rules, `db` the queries and migrations, `events`
//! the saga (what orders announces, and what it does with catalog's events), `saga` what
//! keeps it moving when events are lost (asking catalog again, ending orders left pending
//! too long), and `catalog` the one call to the catalog service.

pub mod actions;
pub mod app;
pub mod catalog;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod events;
pub mod routes;
pub mod saga;
