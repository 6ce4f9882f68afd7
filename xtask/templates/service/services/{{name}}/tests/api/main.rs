//! Integration tests: the {{name}} service on a random port against a fresh database and
//! topics of its own on the test broker.

mod events;
mod helpers;
mod items;
mod standard;
