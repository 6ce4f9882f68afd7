//! Harbor Shop's catalog service.
//!
//! `config` reads the environment, `app` assembles the router, its state and the background
//! tasks, `actions` each state change (the business flows), `routes` the HTTP handlers
//! that call them, `events` what the catalog tells other services
//! and what it does with orders' events, `domain` the rules, `db` the queries, migrations
//! and seed data, `read_model` the products kept in memory for reads, and `error` the one
//! mapping of the service's errors to problem+json.

pub mod actions;
pub mod app;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod events;
pub mod read_model;
pub mod routes;
