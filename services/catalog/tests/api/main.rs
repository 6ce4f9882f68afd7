//! Integration tests: the catalog service on a random port against a fresh database.

mod helpers;
mod standard;
