//! Harbor Shop's orders service.
//!
//! `config` reads the environment, `app` assembles the router and its state, `routes`
//! holds the HTTP handlers, `domain` the rules, and `db` the queries and migrations.

pub mod app;
pub mod config;
pub mod db;
pub mod domain;
pub mod routes;
