//! Integration tests: the users service on a random port against a fresh database.

mod admin;
mod consumers;
mod events;
mod exercises;
mod helpers;
mod keys;
mod me;
mod registration;
mod sessions;
mod standard;
