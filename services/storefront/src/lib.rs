//! Harbor Shop's storefront service.
//!
//! `config` reads the environment, `app` assembles the router and its state, `routes`
//! holds the HTTP handlers, `domain` the shop's view of the other services; it owns no data and calls the other services.

pub mod app;
pub mod config;
pub mod domain;
pub mod routes;
