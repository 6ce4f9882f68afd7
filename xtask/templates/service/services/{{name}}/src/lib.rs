//! Harbor Shop's {{name}} service: each customer's list of products, with a note each.
//!
//! Made by `cargo xtask new-service {{name}}` from the shop's one skeleton, which every
//! service follows: `config` reads the environment, `app` assembles the router and its
//! state, `actions` the flows that change state (one file each), `routes` the HTTP
//! handlers, `domain` the rules (no HTTP, no SQL), `db` the queries and migrations,
//! `events` what the consumer learns from other services' events, and `error` the one
//! mapping to problem+json.

pub mod actions;
pub mod app;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod events;
pub mod routes;
