//! Integration tests: the recommendations service on a random port against a fresh database.

mod auth;
mod canary;
mod consumers;
mod decay;
mod degraded;
mod events;
mod exercises;
mod helpers;
mod signals;
mod standard;
mod tiers;
mod validation;
