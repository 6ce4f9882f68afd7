//! `/ops`: the shop's state at a glance, for admins only: each service's health and
//! readiness, each circuit breaker, where the recommendations of the last minute came
//! from, and links to traces in Jaeger.

use crate::app::AppState;
use crate::domain::home::RecentSources;
use crate::web::layout::{page, urlencode};
use crate::web::{PageError, Visitor};
use axum::Extension;
use axum::extract::{Query, State};
use axum::response::Redirect;
use maud::{Markup, html};
use serde::Deserialize;
use shop_http::{DependencyReport, ServiceClient};

/// One service's health endpoints, as probed just now.
struct Health {
    report: DependencyReport,
    live: Probe,
    ready: Probe,
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

async fn health(state: &AppState, client: &ServiceClient) -> Health {
    let (live, ready) = tokio::join!(
        probe(state, client, "/health/live"),
        probe(state, client, "/health/ready"),
    );
    Health {
        report: client.report(),
        live,
        ready,
    }
}

fn admin(visitor: &Visitor) -> Result<(), PageError> {
    match &visitor.session.account {
        None => Err(PageError::SignIn),
        // Not even that there is a page here.
        Some(account) if !account.is_admin() => Err(PageError::NotFound),
        Some(_) => Ok(()),
    }
}

/// `GET /ops`.
pub async fn panel(
    State(state): State<AppState>,
    Extension(visitor): Extension<Visitor>,
) -> Result<Markup, PageError> {
    admin(&visitor)?;
    let (users, catalog, orders, recommendations) = tokio::join!(
        health(&state, &state.users),
        health(&state, &state.catalog),
        health(&state, &state.orders),
        health(&state, &state.recommendations),
    );
    let services = [users, catalog, orders, recommendations];
    let sources = state.recent_sources.last_window();
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
