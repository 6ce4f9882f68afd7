//! Harbor Shop's storefront service.
//!
//! It owns no data: it calls the other services. `config` reads the environment, `app`
//! assembles the router and its state, `actions` the calls a visitor's form makes
//! (checkout, register, sign in, sign out), `routes` holds the HTTP handlers, `forward` passes
//! an API call on to the service that owns it, `error` maps the storefront's own failures
//! to problem+json, `domain` holds the shop as the storefront sees it, and `web` renders the
//! shop's web pages (outside the JSON contract).

pub mod actions;
pub mod app;
pub mod config;
pub mod domain;
pub mod error;
pub mod forward;
pub mod routes;
pub mod web;
