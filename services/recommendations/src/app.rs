//! The recommendations service's router and shared state.

use crate::actions::recommend::Recommender;
use crate::config::Config;
use crate::events::{self, Signals};
use crate::{db, routes};
use axum::Router;
use axum::extract::FromRef;
use shop_auth::Verifier;
use shop_events::Backbone;
use shop_faults::Faults;
use shop_server::{Application, Readiness, ServiceBuilder, ServiceInfo};
use sqlx::PgPool;

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

/// The service's contract, built from the code alone: every route of `routes::router()`
/// (compared with the committed `openapi.json` by a test).
pub fn openapi() -> utoipa::openapi::OpenApi {
    shop_server::openapi_document(SERVICE, routes::router())
}

/// Connects to the database, applies migrations, creates the topics (if the broker
/// answers), binds the listener, and starts the event consumer beside it.
pub async fn build(config: Config) -> anyhow::Result<Application> {
    let pool = shop_db::connect_and_migrate(&config.database, &db::MIGRATOR).await?;
    let signals = Signals {
        popularity_half_life: config.tiers.popularity_half_life,
    };
    let backbone = Backbone::connect(&pool, &config.kafka, events::GROUP)
        .await?
        .consuming(&events::TOPICS, signals)?;
    let readiness = backbone.readiness()?;
    let app = service(&config, pool.clone(), readiness)
        .bind(config.server.listen_addr)
        .await?;
    let background = backbone.into_background();
    Ok(app.with_background(background))
}

/// The same router as [`build`]'s, for the AWS Lambda function (feature `lambda`), with
/// neither a listener nor the event consumer: a function is frozen between invocations,
/// so it could not keep a consumer's session alive. It answers from the tables that the
/// container's consumer fills, and leaves migrations to the container, which owns the
/// schema. The pool connects at the first request, so the cold start pays for it there.
pub fn function_router(config: &Config) -> anyhow::Result<Router> {
    let pool = shop_db::pool(&config.database)?;
    let readiness =
        Readiness::default().with_check("database", shop_db::readiness_check(pool.clone()));
    let (router, _readiness) = service(config, pool, readiness).into_router();
    Ok(router)
}

/// The service's HTTP surface, whichever way it is served: its API, the ops routes and
/// the standard endpoints and middleware of `shop_server`.
fn service(config: &Config, pool: PgPool, readiness: Readiness) -> ServiceBuilder {
    let verifier = config.auth.verifier();
    let state = AppState {
        recommender: Recommender::new(pool, config.tiers.clone()),
        verifier: verifier.clone(),
    };
    let service = ServiceBuilder::new(SERVICE).settings(config.server.http.clone());
    Faults::new(config.faults).install(
        service,
        routes::router().with_state(state),
        readiness,
        verifier,
    )
}
