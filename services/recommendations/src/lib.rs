//! Harbor Shop's recommendations service.
//!
//! `config` reads the environment, `app` assembles the router and its state, `actions`
//! the flows (`recommend` tries the tiers in turn, `learn` records what events teach),
//! `routes` the HTTP handlers, `domain` the rules, `db` the queries and migrations, `events` what the consumer learns from other
//! services' events, and `error` the one mapping to problem+json.

pub mod actions;
pub mod app;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod events;
pub mod routes;
