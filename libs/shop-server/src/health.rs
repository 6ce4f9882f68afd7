//! Liveness and readiness.
//!
//! *Live* means the process answers; an orchestrator restarts it otherwise. *Ready* means
//! it can do useful work: every *critical* check (its database) passes. A failing critical
//! check turns readiness to 503 naming the check. A failing *non-critical* check (the
//! broker: events wait in the outbox meanwhile) leaves readiness at 200 with
//! `"status": "degraded"` and the check's message in `checks`, so an orchestrator keeps the
//! pod in service. Either turns back by itself when the dependency returns: nothing is
//! cached, nothing needs a restart.

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

/// One named check.
struct Check {
    name: String,
    run: Arc<CheckFn>,
    /// A failing critical check makes the service not ready; a non-critical one, degraded.
    critical: bool,
}

/// The set of checks behind `/health/ready`. Cheap to clone.
#[derive(Clone, Default)]
pub struct Readiness {
    checks: Arc<Vec<Arc<Check>>>,
    draining: Arc<AtomicBool>,
}

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<_> = self
            .checks
            .iter()
            .map(|check| check.name.as_str())
            .collect();
        f.debug_struct("Readiness")
            .field("checks", &names)
            .field("draining", &self.draining.load(Ordering::Relaxed))
            .finish()
    }
}

/// What `/health/ready` reports while the service can serve.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadinessReport {
    /// `ready`, or `degraded` when a non-critical check fails.
    #[schema(example = "ready")]
    pub status: &'static str,
    /// Each check's name and `ok`, or why it fails.
    pub checks: BTreeMap<String, String>,
}

/// The outcome of every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    pub state: ReadinessState,
    /// Each check's name and `ok`, or why it fails.
    pub checks: BTreeMap<String, String>,
}

/// How ready the service is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadinessState {
    /// Every check passes.
    Ready,
    /// Only non-critical checks fail: the service serves, with less (200).
    Degraded,
    /// A critical check fails, or the service is draining (503).
    NotReady,
}

impl Readiness {
    /// Adds a named critical check: while it fails the service is not ready (503). `check`
    /// is called on every readiness probe.
    pub fn with_check<F, Fut>(self, name: &str, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<(), String>> + Send + 'static,
    {
        self.push(name, check, true)
    }

    /// Adds a named non-critical check: while it fails the service is still ready (200),
    /// reported as `degraded` with the check's message. For dependencies the service can
    /// serve without, such as the broker behind the outbox.
    pub fn with_noncritical_check<F, Fut>(self, name: &str, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<(), String>> + Send + 'static,
    {
        self.push(name, check, false)
    }

    fn push<F, Fut>(mut self, name: &str, check: F, critical: bool) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<(), String>> + Send + 'static,
    {
        let run: Arc<CheckFn> = Arc::new(move || Box::pin(check()));
        Arc::make_mut(&mut self.checks).push(Arc::new(Check {
            name: name.to_owned(),
            run,
            critical,
        }));
        self
    }

    /// Marks the service as shutting down: readiness fails from now on so that load
    /// balancers stop sending new requests while the ones in flight finish.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    /// Runs every check concurrently.
    pub async fn evaluate(&self) -> Evaluation {
        let results = futures::future::join_all(self.checks.iter().map(|check| async move {
            let outcome = match tokio::time::timeout(CHECK_TIMEOUT, (check.run)()).await {
                Ok(outcome) => outcome,
                Err(_) => Err(format!("no answer within {} ms", CHECK_TIMEOUT.as_millis())),
            };
            (check.name.clone(), check.critical, outcome)
        }))
        .await;
        let mut checks = BTreeMap::new();
        let mut state = ReadinessState::Ready;
        if self.draining.load(Ordering::Relaxed) {
            state = ReadinessState::NotReady;
            checks.insert("shutdown".to_owned(), "draining".to_owned());
        }
        for (name, critical, outcome) in results {
            match outcome {
                Ok(()) => checks.insert(name, "ok".to_owned()),
                Err(message) => {
                    if critical {
                        state = ReadinessState::NotReady;
                    } else if state == ReadinessState::Ready {
                        state = ReadinessState::Degraded;
                    }
                    checks.insert(name, message)
                }
            };
        }
        Evaluation { state, checks }
    }
}

/// The process is up.
#[utoipa::path(get, path = "/health/live", tag = "health",
    responses((status = 200, description = "The process answers")))]
pub(crate) async fn live() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "status": "alive" }))
}

/// The service can serve: every critical check passes (a failing non-critical one makes
/// it `degraded`, still 200).
#[utoipa::path(get, path = "/health/ready", tag = "health",
    responses(
        (status = 200, description = "Every critical check passes; `status` is `degraded` \
            when a non-critical one (the broker) fails", body = ReadinessReport),
        (status = 503, description = "A critical check fails; `checks` names it", body = Problem,
            content_type = "application/problem+json"),
    ))]
pub(crate) async fn ready(State(readiness): State<Readiness>) -> Response {
    let Evaluation { state, checks } = readiness.evaluate().await;
    let failing: Vec<String> = checks
        .iter()
        .filter(|(_, outcome)| outcome.as_str() != "ok")
        .map(|(name, outcome)| format!("{name}: {outcome}"))
        .collect();
    match state {
        ReadinessState::Ready => axum::Json(ReadinessReport {
            status: "ready",
            checks,
        })
        .into_response(),
        ReadinessState::Degraded => {
            tracing::info!(failing = ?failing, "degraded");
            axum::Json(ReadinessReport {
                status: "degraded",
                checks,
            })
            .into_response()
        }
        ReadinessState::NotReady => {
            tracing::warn!(failing = ?failing, "not ready");
            Problem::unavailable(failing.join("; "))
                .with_extension("checks", serde_json::json!(checks))
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failing() -> impl Fn() -> futures::future::Ready<Result<(), String>> {
        || futures::future::ready(Err("down".to_owned()))
    }

    fn passing() -> impl Fn() -> futures::future::Ready<Result<(), String>> {
        || futures::future::ready(Ok(()))
    }

    #[tokio::test]
    async fn a_failing_noncritical_check_degrades_and_a_critical_one_fails() {
        let degraded = Readiness::default()
            .with_check("database", passing())
            .with_noncritical_check("broker", failing())
            .evaluate()
            .await;
        assert_eq!(degraded.state, ReadinessState::Degraded);
        assert_eq!(degraded.checks["broker"], "down");
        assert_eq!(degraded.checks["database"], "ok");

        let not_ready = Readiness::default()
            .with_check("database", failing())
            .with_noncritical_check("broker", failing())
            .evaluate()
            .await;
        assert_eq!(not_ready.state, ReadinessState::NotReady);

        let ready = Readiness::default()
            .with_check("database", passing())
            .with_noncritical_check("broker", passing())
            .evaluate()
            .await;
        assert_eq!(ready.state, ReadinessState::Ready);

        let draining = Readiness::default().with_noncritical_check("broker", passing());
        draining.start_draining();
        assert_eq!(draining.evaluate().await.state, ReadinessState::NotReady);
    }
}
