//! The storefront's router and shared state.

use crate::config::Config;
use crate::domain::home::{PopularCache, RecentSources};
use crate::routes;
use crate::web;
use crate::web::session::CookieJar;
use axum::middleware::from_fn_with_state;
use shop_faults::Faults;
use shop_http::ServiceClient;
use shop_server::{Application, Readiness, ServiceBuilder, ServiceInfo};
use std::time::Duration;

pub const SERVICE: ServiceInfo = ServiceInfo {
    name: "storefront",
    version: env!("CARGO_PKG_VERSION"),
};

/// A client per domain service: the storefront owns no data of its own.
#[derive(Debug, Clone)]
pub struct AppState {
    pub users: ServiceClient,
    pub catalog: ServiceClient,
    pub orders: ServiceClient,
    pub recommendations: ServiceClient,
    /// The catalog's latest product answers and their `ETag`s, for conditional requests.
    pub known_products: web::catalog::KnownProducts,
    /// The most a page waits for recommendations; past it, a fallback answers (see
    /// `routes::home`).
    pub recommendations_budget: Duration,
    /// The last good popular list, for when recommendations cannot answer.
    pub popular: PopularCache,
    /// Where the recommendations of the last minute came from (the ops panel shows it).
    pub recent_sources: RecentSources,
    /// Probes the services' health endpoints for the ops panel, outside their breakers
    /// (a failing readiness probe must not open a breaker).
    pub probe: reqwest::Client,
    /// Where traces are looked at (`JAEGER_UI_URL`), for the ops panel's links.
    pub jaeger_ui_url: String,
    /// Seals the web pages' session and cart cookies.
    pub cookies: CookieJar,
    /// How often a signed-in session's token is checked with the users service.
    pub session_check_interval: Duration,
    /// The storefront's own injected faults (the ops panel shows and changes them).
    pub faults: Faults,
}

impl AppState {
    /// Fails only on a `SESSION_SECRET` too short to key the cookies.
    pub fn new(config: &Config) -> Result<Self, crate::web::session::SecretTooShort> {
        let upstreams = &config.upstreams;
        let client = |name, url: &str| ServiceClient::new(name, url, upstreams.timeout);
        Ok(Self {
            users: client("users", &upstreams.users_url),
            catalog: client("catalog", &upstreams.catalog_url),
            orders: client("orders", &upstreams.orders_url),
            recommendations: client("recommendations", &upstreams.recommendations_url),
            known_products: web::catalog::KnownProducts::default(),
            recommendations_budget: upstreams.recommendations_budget,
            popular: PopularCache::default(),
            recent_sources: RecentSources::default(),
            probe: reqwest::Client::builder()
                .timeout(Duration::from_secs(1))
                .build()
                .unwrap_or_default(),
            jaeger_ui_url: config.web.jaeger_ui_url.trim_end_matches('/').to_owned(),
            cookies: CookieJar::new(&config.web.session_secret, config.web.cookie_secure)?,
            session_check_interval: config.web.session_check_interval,
            faults: Faults::new(config.faults),
        })
    }
}

/// The storefront's own JSON contract (`routes::router()`; its web pages are outside it).
pub fn openapi() -> utoipa::openapi::OpenApi {
    shop_server::openapi_document(SERVICE, routes::router())
}

/// Builds the state and binds the listener. The storefront is ready as soon as it runs:
/// its pages degrade when a service behind it is down, rather than the whole shop.
/// Injected faults (when enabled) reach its JSON API and its web pages alike.
pub async fn build(config: Config) -> anyhow::Result<Application> {
    let state = AppState::new(&config)?;
    let faults = state.faults.clone();
    let pages =
        web::router(state.clone()).layer(from_fn_with_state(faults.clone(), shop_faults::inject));
    let service = ServiceBuilder::new(SERVICE)
        .settings(config.server.http)
        .pages(pages)
        .fallback(web::not_found(state.clone()));
    let app = faults
        .install(
            service,
            routes::router().with_state(state),
            Readiness::default(),
            config.auth.verifier(),
        )
        .bind(config.server.listen_addr)
        .await?;
    Ok(app)
}
