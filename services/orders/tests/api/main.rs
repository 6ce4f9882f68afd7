//! Integration tests: the orders service on a random port against a fresh database.

mod helpers;
mod standard;
