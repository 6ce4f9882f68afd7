//! The recommendations service's router and shared state.

use crate::config::Config;
use crate::events::{self, Signals};
use crate::recommender::Recommender;
use crate::{db, routes};
use axum::extract::FromRef;
use axum::middleware::from_fn_with_state;
use shop_auth::Verifier;
use shop_faults::Faults;
use shop_server::{Application, Readiness, ServiceBuilder, ServiceInfo};
use utoipa_axum::router::OpenApiRouter;

pub const SERVICE: ServiceInfo = ServiceInfo {
    name: "recommendations",
    version: env!("CARGO_PKG_VERSION"),
};

/// What every handler can reach.
#[derive(Debug, Clone, FromRef)]
pub struct AppState {
    pub recommender: Recommender,
    /// Checks the bearer tokens of personalized requests.
    pub verifier: Verifier,
}

/// The service's contract: every route here appears in `/openapi.json`.
pub fn api() -> OpenApiRouter<AppState> {
    routes::router()
}

/// The OpenAPI document, built from the code alone (compared with `openapi.json` by a test).
pub fn openapi() -> utoipa::openapi::OpenApi {
    shop_server::openapi_document(SERVICE, api())
}

/// Connects to the database, applies migrations, creates the topics (if the broker
/// answers), binds the listener, and starts the event consumer beside it.
pub async fn build(config: Config) -> anyhow::Result<Application> {
    let pool = shop_db::connect_and_migrate(&config.database, &db::MIGRATOR).await?;
    shop_events::migrate(&pool).await?;
    shop_events::topics::ensure_or_warn(&config.kafka).await;
    let faults = Faults::new(config.faults);
    let readiness = faults.readiness(
        Readiness::default()
            .with_check("database", shop_db::readiness_check(pool.clone()))
            .with_noncritical_check("broker", shop_events::broker_check(&config.kafka)?),
    );
    let signals = Signals {
        popularity_half_life: config.tiers.popularity_half_life,
    };
    let state = AppState {
        recommender: Recommender::new(pool.clone(), config.tiers),
        verifier: config.auth.verifier(),
    };
    let ops = faults.router(state.verifier.clone());
    let app = ServiceBuilder::new(SERVICE)
        .settings(config.server.http)
        .api(
            api()
                .with_state(state)
                .layer(from_fn_with_state(faults, shop_faults::inject)),
        )
        .pages(ops)
        .readiness(readiness)
        .bind(config.server.listen_addr)
        .await?;
    Ok(app.with_background(events::start(pool, &config.kafka, signals)?))
}
