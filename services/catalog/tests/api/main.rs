//! Integration tests: the catalog service on a random port against a fresh database.

mod admin;
mod categories;
mod helpers;
mod products;
mod seed;
mod standard;
mod stock;
