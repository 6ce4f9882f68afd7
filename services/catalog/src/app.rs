//! The catalog service's router and shared state.

use crate::config::Config;
use crate::{db, routes};
use axum::extract::FromRef;
use shop_auth::Verifier;
use shop_server::{Application, Readiness, ServiceBuilder, ServiceInfo};
use sqlx::PgPool;
use utoipa_axum::router::OpenApiRouter;

pub const SERVICE: ServiceInfo = ServiceInfo {
    name: "catalog",
    version: env!("CARGO_PKG_VERSION"),
};

/// What every handler can reach.
#[derive(Debug, Clone, FromRef)]
pub struct AppState {
    pub db: PgPool,
    /// Checks the bearer tokens of admin and internal routes.
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

/// Connects to the database, applies migrations, seeds the demo catalog if asked to, and
/// binds the listener.
pub async fn build(config: Config) -> anyhow::Result<Application> {
    let pool = shop_db::connect_and_migrate(&config.database, &db::MIGRATOR).await?;
    if config.seed {
        let seeded = db::seed::load(&pool).await?;
        tracing::info!(
            categories = seeded.categories,
            products = seeded.products,
            "demo catalog seeded"
        );
    }
    let readiness =
        Readiness::default().with_check("database", shop_db::readiness_check(pool.clone()));
    let state = AppState {
        db: pool,
        verifier: config.auth.verifier(),
    };
    let app = ServiceBuilder::new(SERVICE)
        .settings(config.server.http)
        .api(api().with_state(state))
        .readiness(readiness)
        .bind(config.server.listen_addr)
        .await?;
    Ok(app)
}
