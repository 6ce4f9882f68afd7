//! Assembling a service's router: its own API plus the standard endpoints and middleware.

use crate::application::Application;
use crate::client_addr::TrustedProxies;
use crate::contract;
use crate::deadline;
use crate::health::{self, Readiness};
use crate::middleware;
use crate::ops;
use crate::problem::Problem;
use crate::serve::ConnectionLimits;
use axum::Router;
use axum::response::IntoResponse;
use axum::routing::get;
use http::StatusCode;
use shop_telemetry::ServiceInfo;
use std::net::SocketAddr;
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::{Config as DocsConfig, SwaggerUi};

/// Limits applied to every request.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// A request still running after this is answered with 503 and its work dropped.
    pub request_timeout: Duration,
    /// Larger bodies are refused with 413.
    pub body_limit_bytes: usize,
    /// Slow or idle connections are closed; at most so many are open.
    pub connections: ConnectionLimits,
    /// Whose `X-Forwarded-For` hops [`ClientAddr`](crate::ClientAddr) believes.
    pub trusted_proxies: TrustedProxies,
    /// Where the operator's paths ([`ADMIN_PATHS`]) are served, if apart from the public
    /// address: then the public address answers them 404.
    pub admin_listen_addr: Option<SocketAddr>,
}

/// What an operator reads and a visitor from the internet should not: metrics, the ops
/// endpoints and panel, the contract and its browsable page. With an admin listener, the
/// public address does not serve them (see [`HttpSettings::admin_listen_addr`]).
pub const ADMIN_PATHS: [&str; 4] = ["/metrics", "/ops", "/docs", "/openapi.json"];

/// Whether `path` is one of [`ADMIN_PATHS`] or below one.
pub fn is_admin_path(path: &str) -> bool {
    ADMIN_PATHS.iter().any(|admin| {
        path.strip_prefix(admin)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(10),
            body_limit_bytes: 1024 * 1024,
            connections: ConnectionLimits::default(),
            trusted_proxies: TrustedProxies::default(),
            admin_listen_addr: None,
        }
    }
}

/// Builds a service's HTTP surface. See the crate documentation for what it adds.
pub struct ServiceBuilder {
    info: ServiceInfo,
    settings: HttpSettings,
    api: OpenApiRouter,
    pages: Router,
    /// What answers a path no route has; `None`: a `/problems/not-found` problem.
    fallback: Option<Router>,
    readiness: Readiness,
}

impl std::fmt::Debug for ServiceBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceBuilder")
            .field("service", &self.info.name)
            .field("settings", &self.settings)
            .field("readiness", &self.readiness)
            .finish_non_exhaustive()
    }
}

impl ServiceBuilder {
    pub fn new(info: ServiceInfo) -> Self {
        Self {
            info,
            settings: HttpSettings::default(),
            api: OpenApiRouter::new(),
            pages: Router::new(),
            fallback: None,
            readiness: Readiness::default(),
        }
    }

    pub fn settings(mut self, settings: HttpSettings) -> Self {
        self.settings = settings;
        self
    }

    /// Routes that are part of the service's contract: they appear in `/openapi.json`.
    pub fn api(mut self, api: OpenApiRouter) -> Self {
        self.api = self.api.merge(api);
        self
    }

    /// Routes outside the contract, such as web pages and static assets.
    pub fn pages(mut self, pages: Router) -> Self {
        self.pages = self.pages.merge(pages);
        self
    }

    /// Answers the paths no route has, instead of the JSON not-found problem: a web shop
    /// shows browsers a page. A router, so that its own layers (cookies, security headers)
    /// apply to it; its fallback is what answers.
    pub fn fallback(mut self, fallback: Router) -> Self {
        self.fallback = Some(fallback);
        self
    }

    pub fn readiness(mut self, readiness: Readiness) -> Self {
        self.readiness = readiness;
        self
    }

    /// The finished router, and the readiness it reports (to drain it at shutdown).
    pub fn into_router(self) -> (Router, Readiness) {
        // Before the first request is counted, or its metrics would go nowhere.
        shop_telemetry::metrics::install_recorder();
        let (api_router, api_doc) = self.api.split_for_parts();
        let document = complete_document(self.info, api_doc);
        let (standard, _) = standard_endpoints(self.readiness.clone()).split_for_parts();
        let document_json = serde_json::to_string_pretty(&document).unwrap_or_default();
        let request_timeout = self.settings.request_timeout;

        let fallback = self
            .fallback
            .unwrap_or_else(|| Router::new().fallback(not_found));
        let router = api_router
            .merge(standard)
            .merge(self.pages)
            .route(
                "/openapi.json",
                get(move || async move {
                    (
                        [(http::header::CONTENT_TYPE, "application/json")],
                        document_json,
                    )
                }),
            )
            .route("/metrics", get(metrics))
            .route("/ops/dependencies", get(ops::dependencies))
            .merge(docs_page())
            .fallback_service(fallback)
            // Layers run outside-in in the reverse of the order written here.
            .layer(axum::middleware::from_fn(move |request, next| {
                deadline::honour(request_timeout, request, next)
            }))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::SERVICE_UNAVAILABLE,
                self.settings.request_timeout,
            ))
            .layer(RequestBodyLimitLayer::new(self.settings.body_limit_bytes))
            .layer(axum::Extension(self.settings.trusted_proxies.clone()))
            .layer(CatchPanicLayer::custom(middleware::panic_to_problem))
            .layer(axum::middleware::from_fn(
                middleware::problem_for_bare_errors,
            ))
            .layer(axum::middleware::from_fn_with_state(
                self.info,
                middleware::observe,
            ))
            // A JSON answer is never run as a script or a page, whatever a browser guesses.
            .layer(SetResponseHeaderLayer::if_not_present(
                http::header::X_CONTENT_TYPE_OPTIONS,
                http::HeaderValue::from_static("nosniff"),
            ))
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid));
        (router, self.readiness)
    }

    /// Binds `addr` (port 0 picks a free one), and the admin address if the settings have
    /// one, and returns the application, ready to run.
    pub async fn bind(self, addr: SocketAddr) -> std::io::Result<Application> {
        let (info, limits) = (self.info, self.settings.connections);
        let admin_addr = self.settings.admin_listen_addr;
        let (router, readiness) = self.into_router();
        let application = match admin_addr {
            None => Application::bind(info, addr, router, limits, readiness).await?,
            Some(admin_addr) => {
                let public = router
                    .clone()
                    .layer(axum::middleware::from_fn(middleware::hide_admin_paths));
                Application::bind(info, addr, public, limits, readiness)
                    .await?
                    .with_admin(admin_addr, router)
                    .await?
            }
        };
        Ok(application)
    }
}

/// `/docs`: Swagger UI over the service's `/openapi.json`. Every file it needs is in the
/// binary, and the validator badge (a request to swagger.io) is off, so the page renders in
/// an offline classroom.
fn docs_page() -> Router {
    let config = DocsConfig::new(["/openapi.json"]).validator_url("none");
    SwaggerUi::new("/docs").config(config).into()
}

/// The complete OpenAPI document a service serves at `/openapi.json`, built from its API
/// alone (no database needed): this is what the contract drift tests compare.
pub fn openapi_document<S>(info: ServiceInfo, api: OpenApiRouter<S>) -> OpenApi
where
    S: Clone + Send + Sync + 'static,
{
    complete_document(info, api.into_openapi())
}

/// The service's own paths plus the standard endpoints, described.
fn complete_document(info: ServiceInfo, mut doc: OpenApi) -> OpenApi {
    doc.merge(standard_endpoints(Readiness::default()).into_openapi());
    let doc = describe(info, doc);
    // A document utoipa wrote always reads back; if it did not, the contract test (which
    // compares with the committed copy) fails on the missing shared answers.
    match contract::complete(doc.clone()) {
        Ok(complete) => complete,
        Err(error) => {
            tracing::error!(%error, "the OpenAPI document could not be completed");
            doc
        }
    }
}

fn standard_endpoints(readiness: Readiness) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(health::live))
        .routes(routes!(health::ready))
        .with_state(readiness)
}

fn describe(info: ServiceInfo, mut doc: OpenApi) -> OpenApi {
    doc.info.title = format!("Harbor Shop {} API", info.name);
    doc.info.version = info.version.to_owned();
    doc.info.description = Some(format!(
        "The `{}` service of Harbor Shop. Every error is an RFC 9457 problem \
         (`application/problem+json`) with a stable `type`.",
        info.name
    ));
    doc.info.contact = None;
    doc.info.license = Some(utoipa::openapi::License::new("MIT OR Apache-2.0"));
    doc
}

async fn metrics() -> impl IntoResponse {
    (
        [(
            http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        shop_telemetry::metrics::render(),
    )
}

async fn not_found(uri: http::Uri) -> Problem {
    Problem::not_found(format!("no route for {}", uri.path()))
}
