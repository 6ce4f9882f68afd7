//! The catalog service's router and shared state.

use crate::config::Config;
use crate::read_model::ReadModel;
use crate::{db, events, routes};
use axum::extract::FromRef;
use shop_auth::Verifier;
use shop_events::{Backbone, topics};
use shop_faults::Faults;
use shop_server::{Application, ServiceInfo};
use sqlx::PgPool;
use std::time::Duration;

pub const SERVICE: ServiceInfo = ServiceInfo {
    name: "catalog",
    version: env!("CARGO_PKG_VERSION"),
};

/// How long start-up waits for the read model to listen before serving without it.
const READ_MODEL_START: Duration = Duration::from_secs(1);

/// What every handler can reach.
#[derive(Debug, Clone, FromRef)]
pub struct AppState {
    pub db: PgPool,
    /// Checks the bearer tokens of admin routes.
    pub verifier: Verifier,
    /// Products and categories in memory, for reads (see `read_model`).
    pub read_model: ReadModel,
}

/// The service's contract, built from the code alone: every route of `routes::router()`
/// (compared with the committed `openapi.json` by a test).
pub fn openapi() -> utoipa::openapi::OpenApi {
    shop_server::openapi_document(SERVICE, routes::router())
}

/// Connects to the database and applies migrations (the catalog's, then the event
/// backbone's), creates the Kafka topics, seeds the demo catalog if asked to, binds the
/// listener, and starts the outbox relay, the consumer of orders' events (see `events`)
/// and the read model's listener.
///
/// The broker may be away: the service starts without it (events wait in the outbox, and
/// readiness reports `broker` as degraded), and catches up once it is back.
pub async fn build(config: Config) -> anyhow::Result<Application> {
    let pool = shop_db::connect_and_migrate(&config.database, &db::MIGRATOR).await?;
    let backbone = Backbone::connect(&pool, &config.kafka, events::SOURCE)
        .await?
        .publishing()?
        .consuming(&[topics::ORDERS], events::OrderEvents)?;
    if config.seed {
        let seeded = db::seed::load(&pool).await?;
        tracing::info!(
            categories = seeded.categories,
            products = seeded.products,
            "demo catalog seeded"
        );
    }
    let read_model = ReadModel::new();
    let listening = read_model.clone();
    let readiness = backbone
        .readiness()?
        .with_noncritical_check("read_model", move || {
            let live = listening.is_live();
            async move {
                live.then_some(())
                    .ok_or_else(|| "not listening: reads go to the database".to_owned())
            }
        });
    let verifier = config.auth.verifier();
    let state = AppState {
        db: pool.clone(),
        verifier: verifier.clone(),
        read_model: read_model.clone(),
    };
    let api = routes::router().with_state(state);
    let app = Faults::new(config.faults)
        .serve(SERVICE, &config.server, api, readiness, verifier)
        .await?;
    let mut background = backbone.into_background();
    background
        .tasks
        .push(read_model.spawn_listener(&pool, background.shutdown.clone()));
    // Milliseconds when the database is there; without it the service starts all the same
    // and reads the database (readiness says `read_model` is not listening).
    read_model.wait_until_live(READ_MODEL_START).await;
    Ok(app.with_background(background))
}
