//! The orders service's router and shared state.

use crate::catalog::Catalog;
use crate::config::Config;
use crate::events::CatalogEvents;
use crate::{db, routes, saga};
use axum::extract::FromRef;
use shop_auth::Verifier;
use shop_events::{Backbone, topics};
use shop_faults::Faults;
use shop_server::{Application, ServiceInfo};
use sqlx::PgPool;

pub const SERVICE: ServiceInfo = ServiceInfo {
    name: "orders",
    version: env!("CARGO_PKG_VERSION"),
};

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub db: PgPool,
    pub catalog: Catalog,
    pub verifier: Verifier,
}

/// Lets the `Authenticated` extractor find the token verifier.
impl FromRef<AppState> for Verifier {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}

/// The service's contract, built from the code alone: every route of `routes::router()`
/// (compared with the committed `openapi.json` by a test).
pub fn openapi() -> utoipa::openapi::OpenApi {
    shop_server::openapi_document(SERVICE, routes::router())
}

/// Connects to the database, applies migrations, starts the outbox relay, the consumer
/// of catalog's events and the saga's watchers (asking catalog again, expiring pending
/// orders), and binds the listener.
pub async fn build(config: Config) -> anyhow::Result<Application> {
    let pool = shop_db::connect_and_migrate(&config.database, &db::MIGRATOR).await?;
    // Without a broker the shop still takes orders: they wait in the outbox.
    let backbone = Backbone::connect(&pool, &config.kafka, SERVICE.name)
        .await?
        .publishing()?
        .consuming(&[topics::CATALOG], CatalogEvents)?;
    let readiness = backbone.readiness()?;
    let mut background = backbone.into_background();
    background.tasks.push(saga::reconcile::spawn(
        pool.clone(),
        config.reconcile_after,
        background.shutdown.clone(),
    ));
    background.tasks.push(saga::expiry::spawn(
        pool.clone(),
        config.pending_timeout,
        background.shutdown.clone(),
    ));
    let verifier = config.auth.verifier();
    let state = AppState {
        db: pool,
        catalog: Catalog::new(&config.catalog_url, config.catalog_timeout),
        verifier: verifier.clone(),
    };
    let api = routes::router().with_state(state);
    let app = Faults::new(config.faults)
        .serve(SERVICE, &config.server, api, readiness, verifier)
        .await?
        .with_background(background);
    Ok(app)
}
