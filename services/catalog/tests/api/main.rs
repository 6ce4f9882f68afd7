//! Integration tests: the catalog service on a random port against a fresh database.

mod admin;
mod categories;
mod consumers;
mod events;
mod exercises;
mod faults;
mod helpers;
mod products;
mod read_model;
mod read_only;
mod saga;
mod seed;
mod standard;
mod stock;
