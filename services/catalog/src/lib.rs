//! Harbor Shop's catalog service.
//!
//! `config` reads the environment, `app` assembles the router and its state, `routes`
//! holds the HTTP handlers, `domain` the rules, `db` the queries, migrations and seed
//! data, and `error` the one mapping of the service's errors to problem+json.

pub mod app;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod routes;
