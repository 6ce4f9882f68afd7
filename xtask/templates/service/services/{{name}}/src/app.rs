//! The {{name}} service's router and shared state.

use crate::config::Config;
use crate::events::{self, ProductsGone};
use crate::{db, routes};
use axum::extract::FromRef;
use shop_auth::Verifier;
use shop_events::Backbone;
use shop_faults::Faults;
use shop_server::{Application, ServiceInfo};
use sqlx::PgPool;

pub const SERVICE: ServiceInfo = ServiceInfo {
    name: "{{name}}",
    version: env!("CARGO_PKG_VERSION"),
};

/// What every handler can reach.
#[derive(Debug, Clone, FromRef)]
pub struct AppState {
    pub db: PgPool,
    /// Checks the customers' bearer tokens.
    pub verifier: Verifier,
}

/// The service's contract, built from the code alone: every route of `routes::router()`
/// (compared with the committed `openapi.json` by a test).
pub fn openapi() -> utoipa::openapi::OpenApi {
    shop_server::openapi_document(SERVICE, routes::router())
}

/// Connects to the database, applies migrations, creates the topics (if the broker
/// answers), binds the listener, and starts the event consumer beside it.
pub async fn build(config: Config) -> anyhow::Result<Application> {
    let pool = shop_db::connect_and_migrate(&config.database, &db::MIGRATOR).await?;
    let backbone = Backbone::connect(&pool, &config.kafka, events::GROUP)
        .await?
        .consuming(&events::TOPICS, ProductsGone)?;
    let readiness = backbone.readiness()?;
    let verifier = config.auth.verifier();
    let state = AppState {
        db: pool,
        verifier: verifier.clone(),
    };
    let api = routes::router().with_state(state);
    let app = Faults::new(config.faults)
        .serve(SERVICE, &config.server, api, readiness, verifier)
        .await?;
    Ok(app.with_background(backbone.into_background()))
}
