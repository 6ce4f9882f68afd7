//! Integration tests: orders on a random port, with a real catalog beside it, both against
//! one fresh database (each in its own schema), and tokens from a test key issuer.

#![allow(clippy::unwrap_used)] // a test crate: a panic with the value is the report

mod auth;
mod cancelling;
mod consumers;
mod exercises;
mod helpers;
mod placing;
mod prices;
mod reconcile;
mod saga;
mod standard;
