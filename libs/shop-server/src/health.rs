//! Liveness and readiness.
//!
//! *Live* means the process answers; an orchestrator restarts it otherwise. *Ready* means
//! it can do useful work: every registered check (its database, later its broker) passes.
//! A failing check turns readiness to 503 naming the check, and it turns back to 200 by
//! itself when the dependency returns: nothing is cached, nothing needs a restart.

use crate::problem::Problem;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use futures::future::BoxFuture;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use utoipa::ToSchema;

/// How long one check may take before it counts as failed.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

type CheckFn = dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync;

/// The set of checks behind `/health/ready`. Cheap to clone.
#[derive(Clone, Default)]
pub struct Readiness {
    checks: Arc<Vec<(String, Arc<CheckFn>)>>,
    draining: Arc<AtomicBool>,
}

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<_> = self.checks.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("Readiness")
            .field("checks", &names)
            .field("draining", &self.draining.load(Ordering::Relaxed))
            .finish()
    }
}

/// What `/health/ready` reports when every check passes.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadinessReport {
    #[schema(example = "ready")]
    pub status: &'static str,
    /// Each check's name and `ok`.
    pub checks: BTreeMap<String, String>,
}

impl Readiness {
    /// Adds a named check. `check` is called on every readiness probe.
    pub fn with_check<F, Fut>(mut self, name: &str, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<(), String>> + Send + 'static,
    {
        let boxed: Arc<CheckFn> = Arc::new(move || Box::pin(check()));
        Arc::make_mut(&mut self.checks).push((name.to_owned(), boxed));
        self
    }

    /// Marks the service as shutting down: readiness fails from now on so that load
    /// balancers stop sending new requests while the ones in flight finish.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    /// Runs every check concurrently; `Err` carries the failing checks' messages.
    pub async fn evaluate(&self) -> Result<BTreeMap<String, String>, BTreeMap<String, String>> {
        let results =
            futures::future::join_all(self.checks.iter().map(|(name, check)| async move {
                let outcome = match tokio::time::timeout(CHECK_TIMEOUT, check()).await {
                    Ok(outcome) => outcome,
                    Err(_) => Err(format!("no answer within {} ms", CHECK_TIMEOUT.as_millis())),
                };
                (name.clone(), outcome)
            }))
            .await;
        let mut report = BTreeMap::new();
        let mut healthy = true;
        if self.draining.load(Ordering::Relaxed) {
            healthy = false;
            report.insert("shutdown".to_owned(), "draining".to_owned());
        }
        for (name, outcome) in results {
            match outcome {
                Ok(()) => report.insert(name, "ok".to_owned()),
                Err(message) => {
                    healthy = false;
                    report.insert(name, message)
                }
            };
        }
        if healthy { Ok(report) } else { Err(report) }
    }
}

/// The process is up.
#[utoipa::path(get, path = "/health/live", tag = "health",
    responses((status = 200, description = "The process answers")))]
pub(crate) async fn live() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "status": "alive" }))
}

/// The service can serve: every dependency check passes.
#[utoipa::path(get, path = "/health/ready", tag = "health",
    responses(
        (status = 200, description = "Every check passes", body = ReadinessReport),
        (status = 503, description = "A check fails; `checks` names it", body = Problem,
            content_type = "application/problem+json"),
    ))]
pub(crate) async fn ready(State(readiness): State<Readiness>) -> Response {
    match readiness.evaluate().await {
        Ok(checks) => axum::Json(ReadinessReport {
            status: "ready",
            checks,
        })
        .into_response(),
        Err(checks) => {
            let failing: Vec<String> = checks
                .iter()
                .filter(|(_, state)| state.as_str() != "ok")
                .map(|(name, state)| format!("{name}: {state}"))
                .collect();
            tracing::warn!(failing = ?failing, "not ready");
            Problem::unavailable(failing.join("; "))
                .with_extension("checks", serde_json::json!(checks))
                .into_response()
        }
    }
}
