//! Harbor Shop's users service: accounts, sign-in, and the access tokens every other
//! service trusts.
//!
//! `config` reads the environment, `app` assembles the router and its state, `actions`
//! each state change (the business flows), `routes` the HTTP handlers that call them,
//! `domain` the rules, `db` the queries and migrations, `events`
//! what the service announces on Kafka, `tokens` the signing key, `hasher` the bounded
//! password hashing, and `bootstrap` the administrator account created at start-up.

pub mod actions;
pub mod app;
pub mod bootstrap;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod events;
pub mod hasher;
pub mod routes;
pub mod tokens;
