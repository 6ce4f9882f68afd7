//! `/ops`: the shop's state at a glance, for admins only: each service's health and
//! readiness, each circuit breaker, where the recommendations of the last minute came
//! from, the fault injection of each service (where `FAULTS_ENABLED=true`), and links to
//! traces in Jaeger.

use crate::app::AppState;
use crate::domain::home::RecentSources;
use crate::web::form::Form;
use crate::web::layout::{csrf_field, page, urlencode};
use crate::web::session::Account;
use crate::web::{PageError, Visitor};
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::response::Redirect;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;
use shop_faults::Fault;
use shop_http::{CallError, DependencyReport, ServiceClient};

/// The storefront's own name on the panel: its faults are changed here, not over HTTP.
const SELF: &str = "storefront";

/// One service's health endpoints, as probed just now.
struct Health {
    report: DependencyReport,
    live: Probe,
    ready: Probe,
    /// The faults injected now; `None` where fault injection is off (or unreachable).
    faults: Option<Vec<Value>>,
}

/// An endpoint's answer: its status, and the body a failing readiness check explains
/// itself in.
enum Probe {
    Answered { ok: bool, status: u16, body: String },
    Unreachable,
}

impl Probe {
    fn view(&self) -> Markup {
        match self {
            Self::Answered { ok: true, .. } => html! { span.status.confirmed { "ok" } },
            Self::Answered { status, body, .. } => html! {
                span.status.rejected { (status) }
                " " small { (body.chars().take(200).collect::<String>()) }
            },
            Self::Unreachable => html! { span.status.rejected { "unreachable" } },
        }
    }
}

async fn probe(state: &AppState, client: &ServiceClient, path: &str) -> Probe {
    let url = format!("{}{path}", client.base_url());
    match state.probe.get(url).send().await {
        Ok(response) => {
            let status = response.status();
            Probe::Answered {
                ok: status.is_success(),
                status: status.as_u16(),
                body: response.text().await.unwrap_or_default(),
            }
        }
        Err(_) => Probe::Unreachable,
    }
}

async fn health(state: &AppState, client: &ServiceClient, token: &str) -> Health {
    let faults_url = format!("{}/ops/faults", client.base_url());
    let faults = async {
        let response = state
            .probe
            .get(faults_url)
            .bearer_auth(token)
            .send()
            .await
            .ok()?;
        if !response.status().is_success() {
            return None;
        }
        response.json::<Vec<Value>>().await.ok()
    };
    let (live, ready, faults) = tokio::join!(
        probe(state, client, "/health/live"),
        probe(state, client, "/health/ready"),
        faults,
    );
    Health {
        report: client.report(),
        live,
        ready,
        faults,
    }
}

/// The signed-in admin's account; anyone else learns nothing of this page.
fn admin(visitor: &Visitor) -> Result<&Account, PageError> {
    match &visitor.session.account {
        None => Err(PageError::SignIn),
        Some(account) if !account.is_admin() => Err(PageError::NotFound),
        Some(account) => Ok(account),
    }
}

/// `GET /ops`.
pub async fn panel(
    State(state): State<AppState>,
    Extension(visitor): Extension<Visitor>,
) -> Result<Markup, PageError> {
    let token = &admin(&visitor)?.access_token;
    let (users, catalog, orders, recommendations) = tokio::join!(
        health(&state, &state.users, token),
        health(&state, &state.catalog, token),
        health(&state, &state.orders, token),
        health(&state, &state.recommendations, token),
    );
    let services = [users, catalog, orders, recommendations];
    let own_faults = state.faults.enabled().then(|| {
        let active = state.faults.active();
        active
            .iter()
            .filter_map(|fault| serde_json::to_value(fault).ok())
            .collect()
    });
    let sources = state.recent_sources.last_window();
    let versions = state.recent_sources.last_window_by_version();
    let this_trace = shop_telemetry::propagation::current_trace_id();
    Ok(page(
        "Ops",
        visitor.chrome(),
        html! {
            h1 { "Ops" }
            section aria-labelledby="services" {
                h2 #services { "Services" }
                table {
                    thead { tr {
                        th scope="col" { "Service" }
                        th scope="col" { "Live" }
                        th scope="col" { "Ready" }
                        th scope="col" { "Circuit breaker" }
                        th.number scope="col" { "Calls" }
                        th.number scope="col" { "Failures" }
                        th.number scope="col" { "Short-circuited" }
                    } }
                    tbody {
                        @for service in &services {
                            tr {
                                th scope="row" { (service.report.dependency) }
                                td { (service.live.view()) }
                                td { (service.ready.view()) }
                                td { (breaker(&service.report)) }
                                td.number { (service.report.calls) }
                                td.number { (service.report.failures) }
                                td.number { (service.report.short_circuited) }
                            }
                        }
                    }
                }
            }
            section aria-labelledby="faults" {
                h2 #faults { "Fault injection" }
                (faults_view(SELF, &own_faults, &visitor))
                @for service in &services {
                    (faults_view(service.report.dependency, &service.faults, &visitor))
                }
            }
            section aria-labelledby="sources" {
                h2 #sources { "Recommendations served in the last minute" }
                @if sources.is_empty() {
                    p { "None in the last " (RecentSources::WINDOW.as_secs()) " seconds." }
                } @else {
                    table {
                        thead { tr { th scope="col" { "Source" } th.number scope="col" { "Pages" } } }
                        tbody {
                            @for (source, count) in &sources {
                                tr { td { (source.as_str()) } td.number { (count) } }
                            }
                        }
                    }
                }
            }
            section aria-labelledby="versions" {
                h2 #versions { "Recommendations by ranking version in the last minute" }
                p { "During a canary (k8s/overlays/canary) v1 and v2 replicas share one Service: the split shows here." }
                @if versions.is_empty() {
                    p { "None in the last " (RecentSources::WINDOW.as_secs()) " seconds." }
                } @else {
                    table {
                        thead { tr { th scope="col" { "Version" } th.number scope="col" { "Pages" } } }
                        tbody {
                            @for (version, count) in &versions {
                                tr { td { (version.as_str()) } td.number { (count) } }
                            }
                        }
                    }
                }
            }
            section aria-labelledby="traces" {
                h2 #traces { "Traces" }
                @if let Some(trace) = &this_trace {
                    p { a href={ (state.jaeger_ui_url) "/trace/" (trace) } { "This page's trace in Jaeger" } }
                }
                form method="get" action="/ops/trace" {
                    div.field {
                        label for="request_id" { "A request's id (its x-request-id header, or a problem's request_id)" }
                        input #request_id name="request_id" required;
                    }
                    button type="submit" { "Find its trace in Jaeger" }
                }
            }
        },
    ))
}

/// A service's injected faults (`None`: off or unreachable), and the forms that add one
/// or clear them.
fn faults_view(name: &str, faults: &Option<Vec<Value>>, visitor: &Visitor) -> Markup {
    // The storefront's own routes are its API and its pages; the others' are under /v1.
    let suggested = if name == SELF { "/api/*" } else { "/v1/*" };
    html! {
        h3 { (name) }
        @match faults {
            None => p { "Fault injection is off (FAULTS_ENABLED) or the service is unreachable." },
            Some(faults) => {
                @if faults.is_empty() {
                    p { "No fault injected." }
                } @else {
                    ul { @for fault in faults { li { code { (fault) } } } }
                    form method="post" action={ "/ops/faults/" (name) "/clear" } {
                        (csrf_field(&visitor.session))
                        button.secondary type="submit" { "Clear " (name) "'s faults" }
                    }
                }
                form.fault method="post" action={ "/ops/faults/" (name) } {
                    (csrf_field(&visitor.session))
                    label for={ "pattern-" (name) } { "Route" }
                    input id={ "pattern-" (name) } name="route_pattern" value=(suggested) required;
                    label for={ "latency-" (name) } { "Latency (ms)" }
                    input id={ "latency-" (name) } name="latency_ms" type="number" min="0";
                    label for={ "errors-" (name) } { "Error rate (0–1)" }
                    input id={ "errors-" (name) } name="error_rate" type="number" min="0" max="1" step="0.05";
                    label for={ "ready-" (name) } { "Fail readiness" }
                    input id={ "ready-" (name) } name="fail_readiness" type="checkbox" value="true";
                    button type="submit" { "Inject" }
                }
            }
        }
    }
}

fn client<'a>(state: &'a AppState, service: &str) -> Result<&'a ServiceClient, PageError> {
    [
        &state.users,
        &state.catalog,
        &state.orders,
        &state.recommendations,
    ]
    .into_iter()
    .find(|client| client.service() == service)
    .ok_or(PageError::NotFound)
}

/// The fault form: empty fields are faults not asked for.
#[derive(Debug, Deserialize)]
pub struct FaultForm {
    route_pattern: String,
    #[serde(default)]
    latency_ms: String,
    #[serde(default)]
    error_rate: String,
    #[serde(default)]
    fail_readiness: Option<String>,
}

impl FaultForm {
    fn into_fault(self) -> Result<Fault, PageError> {
        let number = |field: &str, text: &str| -> Result<Option<f64>, PageError> {
            let text = text.trim();
            if text.is_empty() {
                return Ok(None);
            }
            text.parse()
                .map(Some)
                .map_err(|_| PageError::BadForm(format!("{field} is not a number")))
        };
        let latency_ms = match number("latency_ms", &self.latency_ms)? {
            Some(ms) if ms >= 0.0 && ms.fract() == 0.0 && ms <= u64::MAX as f64 => Some(ms as u64),
            Some(_) => {
                return Err(PageError::BadForm(
                    "latency_ms must be a whole number of milliseconds".to_owned(),
                ));
            }
            None => None,
        };
        Ok(Fault {
            route_pattern: self.route_pattern.trim().to_owned(),
            latency_ms,
            error_rate: number("error_rate", &self.error_rate)?,
            fail_readiness: self.fail_readiness.is_some().then_some(true),
        })
    }
}

/// `POST /ops/faults/{service}`: injects a fault there (`PUT /ops/faults`).
pub async fn inject(
    State(state): State<AppState>,
    Extension(visitor): Extension<Visitor>,
    Path(service): Path<String>,
    Form(form): Form<FaultForm>,
) -> Result<Redirect, PageError> {
    let token = &admin(&visitor)?.access_token;
    let fault = form.into_fault()?;
    if service == SELF {
        return inject_own(&state, fault);
    }
    let client = client(&state, &service)?;
    let response = state
        .probe
        .put(format!("{}/ops/faults", client.base_url()))
        .bearer_auth(token)
        .json(&fault)
        .send()
        .await
        .map_err(|source| unreachable(client, source))?;
    if !response.status().is_success() {
        let refusal = response.text().await.unwrap_or_default();
        return Err(PageError::BadForm(format!(
            "{service} refused the fault: {refusal}"
        )));
    }
    Ok(Redirect::to("/ops#faults"))
}

/// Injects `fault` into the storefront itself.
fn inject_own(state: &AppState, fault: Fault) -> Result<Redirect, PageError> {
    if !state.faults.enabled() {
        return Err(PageError::NotFound);
    }
    state
        .faults
        .add(fault)
        .map_err(|problem| PageError::BadForm(format!("{SELF} refused the fault: {problem}")))?;
    Ok(Redirect::to("/ops#faults"))
}

/// `POST /ops/faults/{service}/clear`: removes that service's faults.
pub async fn clear(
    State(state): State<AppState>,
    Extension(visitor): Extension<Visitor>,
    Path(service): Path<String>,
    Form(_): Form<serde::de::IgnoredAny>,
) -> Result<Redirect, PageError> {
    let token = &admin(&visitor)?.access_token;
    if service == SELF {
        state.faults.clear();
        return Ok(Redirect::to("/ops#faults"));
    }
    let client = client(&state, &service)?;
    state
        .probe
        .delete(format!("{}/ops/faults", client.base_url()))
        .bearer_auth(token)
        .send()
        .await
        .map_err(|source| unreachable(client, source))?;
    Ok(Redirect::to("/ops#faults"))
}

/// A service that did not answer the panel's call.
fn unreachable(client: &ServiceClient, source: reqwest::Error) -> PageError {
    PageError::Upstream(CallError::Unreachable {
        service: client.service(),
        source,
    })
}

fn breaker(report: &DependencyReport) -> Markup {
    let (class, label) = match report.state {
        shop_http::BreakerState::Closed => ("confirmed", "closed"),
        shop_http::BreakerState::HalfOpen => ("pending", "half-open"),
        shop_http::BreakerState::Open => ("rejected", "open"),
    };
    html! { span class={ "status " (class) } { (label) } }
}

#[derive(Debug, Deserialize)]
pub struct TraceQuery {
    request_id: String,
}

/// `GET /ops/trace?request_id=…`: off to Jaeger's search for the request's spans.
pub async fn trace(
    State(state): State<AppState>,
    Extension(visitor): Extension<Visitor>,
    Query(query): Query<TraceQuery>,
) -> Result<Redirect, PageError> {
    admin(&visitor)?;
    let tags = serde_json::json!({ "request_id": query.request_id.trim() }).to_string();
    Ok(Redirect::to(&format!(
        "{}/search?service=storefront&tags={}",
        state.jaeger_ui_url,
        urlencode(&tags)
    )))
}
