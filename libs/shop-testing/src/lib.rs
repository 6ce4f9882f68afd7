//! Shared test support for Harbor Shop integration tests.
//!
//! - [`TestDatabase`]: a fresh database per test, provisioned exactly like production
//!   (same SQL, same roles), dropped when the test ends.
//! - [`TcpProxy`]: sits between a service and a dependency and can cut it off, to test
//!   what the service does when its database or broker disappears.
//! - [`RunningService`]: a service running on a random port, stopped when dropped.
//! - [`PrivateBroker`]: a Kafka broker of one test's own that the test can cut off.
//! - [`OtlpReceiver`]: an OTLP/HTTP collector stand-in that keeps the spans it receives.
//! - [`prometheus`]: a strict reader of the Prometheus text format, for `/metrics`.
//! - [`standard`]: the checks every service's standard endpoints must pass.

mod broker;
pub mod contracts;
mod database;
mod otlp;
pub mod prometheus;
mod proxy;
mod running;
pub mod standard;

pub use broker::{
    PrivateBroker, TANSU_FEATURES, TANSU_PATCH, TANSU_PATCH_LEVEL, TANSU_POSTGRES_SCHEMA,
    TANSU_VERSION, kafka_brokers, publish, tansu_binary, tansu_durable_store, tansu_install_root,
    unique_topic_prefix,
};
pub use database::{TEST_DATABASE_PREFIX, TestDatabase, admin_url};
pub use otlp::{OtlpReceiver, ReceivedSpan};
pub use proxy::TcpProxy;
pub use running::RunningService;
