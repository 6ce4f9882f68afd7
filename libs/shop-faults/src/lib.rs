//! Fault injection, for chaos experiments on a running shop.
//!
//! Off unless `FAULTS_ENABLED=true`; even then only an admin may inject. With it on, a
//! service serves (outside its contract):
//!
//! | call | does |
//! |---|---|
//! | `PUT /ops/faults` `{route_pattern, latency_ms?, error_rate?, fail_readiness?}` | adds the fault (replacing one with the same pattern) |
//! | `GET /ops/faults` | the faults in force |
//! | `DELETE /ops/faults` | removes them all |
//!
//! `route_pattern` is a route template (`/v1/products/{id}`) or a path with `*` wildcards
//! (`/v1/products*`). A request it matches first waits `latency_ms`, then fails with
//! probability `error_rate` (503 `/problems/injected-fault`); `fail_readiness` makes
//! `/health/ready` fail while the fault is in force.
//!
//! A service mounts it in `app.rs`: [`inject`] as a layer on its API, [`Faults::router`] as
//! pages, and [`Faults::readiness`] around its readiness checks. (It is a crate of its
//! own because it needs `shop-auth`, which depends on `shop-server`.)

use axum::Router;
use axum::extract::{FromRef, MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::put;
use http::StatusCode;
use serde::{Deserialize, Serialize};
use shop_auth::{AdminOnly, Verifier};
use shop_config::{ConfigError, Env};
use shop_server::{
    Application, Json, Problem, Readiness, ServerConfig, ServiceBuilder, ServiceInfo, Validation,
};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use utoipa_axum::router::OpenApiRouter;

/// The longest latency a fault may add: longer is a hung service, which `cargo xtask chaos
/// stop` shows better.
const MAX_LATENCY_MS: u64 = 30_000;

/// `FAULTS_ENABLED` (default `false`).
#[derive(Debug, Clone, Copy, Default)]
pub struct FaultsConfig {
    pub enabled: bool,
}

impl FaultsConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            enabled: env.parse("FAULTS_ENABLED", false)?,
        })
    }
}

/// One injected fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    pub route_pattern: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// 0.0 to 1.0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_readiness: Option<bool>,
}

impl Fault {
    fn validate(&self) -> Result<(), Problem> {
        Validation::default()
            .check(
                self.route_pattern.starts_with('/') || self.route_pattern == "*",
                "route_pattern",
                "must start with / (or be *)",
            )
            .check(
                self.latency_ms.is_none_or(|ms| ms <= MAX_LATENCY_MS),
                "latency_ms",
                "must be at most 30000",
            )
            .check(
                self.error_rate
                    .is_none_or(|rate| (0.0..=1.0).contains(&rate)),
                "error_rate",
                "must be between 0 and 1",
            )
            .finish()
    }

    fn matches(&self, template: Option<&str>, path: &str) -> bool {
        template == Some(self.route_pattern.as_str()) || glob(&self.route_pattern, path)
    }
}

/// The faults in force in one service. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    enabled: bool,
    active: Arc<RwLock<Vec<Fault>>>,
}

#[derive(Clone, FromRef)]
struct OpsState {
    faults: Faults,
    verifier: Verifier,
}

impl Faults {
    pub fn new(config: FaultsConfig) -> Self {
        Self {
            enabled: config.enabled,
            active: Arc::default(),
        }
    }

    /// How every service takes faults: `api` behind the injector, `/ops/faults` for admins
    /// (checked by `verifier`), and `readiness` with the check an injected fault can fail.
    pub fn install(
        &self,
        service: ServiceBuilder,
        api: OpenApiRouter,
        readiness: Readiness,
        verifier: Verifier,
    ) -> ServiceBuilder {
        service
            .api(api.layer(axum::middleware::from_fn_with_state(self.clone(), inject)))
            .pages(self.router(verifier))
            .readiness(self.readiness(readiness))
    }

    /// The end of a service's start-up: `api` served as `service`, with the standard
    /// endpoints and middleware of [`ServiceBuilder`] and the faults of [`Faults::install`],
    /// bound to `server`'s address.
    pub async fn serve(
        &self,
        service: ServiceInfo,
        server: &ServerConfig,
        api: OpenApiRouter,
        readiness: Readiness,
        verifier: Verifier,
    ) -> std::io::Result<Application> {
        let builder = ServiceBuilder::new(service).settings(server.http.clone());
        self.install(builder, api, readiness, verifier)
            .bind(server.listen_addr)
            .await
    }

    /// `/ops/faults`, guarded by `verifier` (admins only); no routes at all when disabled.
    pub fn router(&self, verifier: Verifier) -> Router {
        if !self.enabled {
            return Router::new();
        }
        Router::new()
            .route("/ops/faults", put(add).get(list).delete(clear))
            .with_state(OpsState {
                faults: self.clone(),
                verifier,
            })
    }

    /// `readiness` plus a `faults` check that fails while a fault says so (unchanged when
    /// fault injection is off).
    pub fn readiness(&self, readiness: Readiness) -> Readiness {
        if !self.enabled {
            return readiness;
        }
        let faults = self.clone();
        readiness.with_check("faults", move || {
            let failing = faults
                .read()
                .iter()
                .any(|fault| fault.fail_readiness == Some(true));
            std::future::ready(if failing {
                Err("failing on purpose (an injected fault)".to_owned())
            } else {
                Ok(())
            })
        })
    }

    /// Whether fault injection is on (`FAULTS_ENABLED`).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The faults in force.
    pub fn active(&self) -> Vec<Fault> {
        self.read().clone()
    }

    /// Adds `fault`, replacing one with the same pattern; the faults in force after it.
    /// (For a caller that checked the admin itself, like the storefront's ops panel.)
    pub fn add(&self, fault: Fault) -> Result<Vec<Fault>, Problem> {
        fault.validate()?;
        let mut active = self.write();
        active.retain(|existing| existing.route_pattern != fault.route_pattern);
        active.push(fault);
        Ok(active.clone())
    }

    /// Removes every fault.
    pub fn clear(&self) {
        self.write().clear();
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<Fault>> {
        self.active
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Vec<Fault>> {
        self.active
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The middleware: `axum::middleware::from_fn_with_state(faults, shop_faults::inject)`.
pub async fn inject(State(faults): State<Faults>, request: Request, next: Next) -> Response {
    if !faults.enabled {
        return next.run(request).await;
    }
    let template = request
        .extensions()
        .get::<MatchedPath>()
        .map(|matched| matched.as_str().to_owned());
    let fault = faults
        .read()
        .iter()
        .find(|fault| fault.matches(template.as_deref(), request.uri().path()))
        .cloned();
    let Some(fault) = fault else {
        return next.run(request).await;
    };
    if let Some(ms) = fault.latency_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if fault.error_rate.is_some_and(|rate| random_unit() < rate) {
        metrics::counter!("faults_injected_total", "kind" => "error").increment(1);
        return Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "injected-fault",
            "A fault was injected on purpose",
        )
        .with_detail(format!("fault on {}", fault.route_pattern))
        .into_response();
    }
    next.run(request).await
}

async fn add(
    State(faults): State<Faults>,
    AdminOnly(admin): AdminOnly,
    Json(fault): Json<Fault>,
) -> Result<axum::Json<Vec<Fault>>, Problem> {
    let active = faults.add(fault.clone())?;
    tracing::warn!(admin = %admin.sub, ?fault, "fault injected");
    Ok(axum::Json(active))
}

async fn list(State(faults): State<Faults>, _: AdminOnly) -> axum::Json<Vec<Fault>> {
    axum::Json(faults.active())
}

async fn clear(State(faults): State<Faults>, AdminOnly(admin): AdminOnly) -> StatusCode {
    tracing::warn!(admin = %admin.sub, "faults removed");
    faults.clear();
    StatusCode::NO_CONTENT
}

/// `*` matches any run of characters (`/` included); everything else matches itself.
fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((prefix, rest)) => {
            let Some(remainder) = text.strip_prefix(prefix) else {
                return false;
            };
            // Bounded by the text's length: each start position tried once.
            remainder
                .char_indices()
                .map(|(at, _)| at)
                .chain(std::iter::once(remainder.len()))
                .any(|at| glob(rest, &remainder[at..]))
        }
    }
}

/// A number in [0, 1) from the standard library's randomly seeded hasher: enough for
/// "fail about half the requests", without a dependency.
fn random_unit() -> f64 {
    use std::hash::BuildHasher;
    let random = std::collections::hash_map::RandomState::new().hash_one(std::time::Instant::now());
    (random % 1_000_000) as f64 / 1_000_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_templates_and_globs() {
        let fault = |pattern: &str| Fault {
            route_pattern: pattern.to_owned(),
            latency_ms: None,
            error_rate: None,
            fail_readiness: None,
        };
        let template = Some("/v1/products/{id}");
        assert!(fault("/v1/products/{id}").matches(template, "/v1/products/42"));
        assert!(fault("/v1/products*").matches(template, "/v1/products/42"));
        assert!(fault("/v1/*/42").matches(None, "/v1/products/42"));
        assert!(fault("*").matches(None, "/anything"));
        assert!(!fault("/v1/products").matches(template, "/v1/products/42"));
        assert!(!fault("/v1/categories*").matches(template, "/v1/products/42"));
    }

    #[test]
    fn refuses_impossible_faults() {
        let fault = Fault {
            route_pattern: "v1".to_owned(),
            latency_ms: Some(60_000),
            error_rate: Some(1.5),
            fail_readiness: None,
        };
        let problem = fault.validate().unwrap_err();
        let fields: Vec<_> = problem.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["route_pattern", "latency_ms", "error_rate"]);
    }

    #[test]
    fn about_half_fail_at_half_the_rate() {
        let failed = (0..2000).filter(|_| random_unit() < 0.5).count();
        assert!((800..1200).contains(&failed), "{failed}");
    }
}
