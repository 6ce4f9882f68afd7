//! Everything a Harbor Shop service needs around its own routes.
//!
//! A service describes its API as a utoipa [`OpenApiRouter`](utoipa_axum::router::OpenApiRouter)
//! and hands it to [`ServiceBuilder`], which adds the standard endpoints and middleware:
//!
//! | path | what |
//! |---|---|
//! | `/health/live` | the process is up |
//! | `/health/ready` | every critical readiness check passes (503 names the failing one); a failing non-critical one (the broker) is `degraded`, still 200 |
//! | `/metrics` | Prometheus text format |
//! | `/openapi.json` | the OpenAPI 3.1 contract generated from the code |
//! | `/docs` | the same contract, browsable (Swagger UI, served from the binary: works offline) |
//! | `/ops/dependencies` | each dependency's circuit breaker state and call counts |
//!
//! and, around every request: a request id, a trace span with the OpenTelemetry HTTP
//! semantic conventions, RED metrics per route, a timeout (capped by the caller's
//! `x-request-deadline`), a body size limit, panic recovery, and RFC 9457 problem+json for
//! every error, including the ones produced by middleware. [`Application`] binds a port and
//! serves until told to stop, draining the requests in flight; its connections have a
//! header-read (and idle) timeout and a cap ([`ConnectionLimits`]). With
//! `ADMIN_LISTEN_ADDR` set, `/metrics`, `/ops`, `/docs` and `/openapi.json` are served at
//! that address only ([`ADMIN_PATHS`]): the storefront's public port shows the internet
//! the shop and nothing an operator reads.

mod application;
pub mod client_addr;
pub mod config;
mod contract;
mod deadline;
pub mod extract;
pub mod health;
pub mod healthcheck;
mod main_helper;
mod middleware;
mod ops;
pub mod problem;
mod serve;
mod service;
pub mod shutdown;

pub use application::{Application, Background};
pub use client_addr::{ClientAddr, TrustedProxies};
pub use config::ServerConfig;
pub use extract::{Json, Path, Query};
pub use health::Readiness;
pub use main_helper::run_service;
pub use problem::{FieldError, Problem, Validation};
pub use serve::ConnectionLimits;
pub use service::{ADMIN_PATHS, HttpSettings, ServiceBuilder, is_admin_path, openapi_document};
pub use shop_config::{ConfigError, Env};
pub use shop_telemetry::ServiceInfo;
