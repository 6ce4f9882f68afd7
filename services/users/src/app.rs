//! The users service's router and shared state.

use crate::config::Config;
use crate::domain::throttle::Limits;
use crate::hasher::PasswordHasher;
use crate::tokens::TokenIssuer;
use crate::{bootstrap, db, routes};
use anyhow::Context as _;
use axum::extract::FromRef;
use shop_auth::Verifier;
use shop_events::Backbone;
use shop_faults::Faults;
use shop_server::{Application, ServiceInfo};
use sqlx::PgPool;
use std::sync::Arc;

pub const SERVICE: ServiceInfo = ServiceInfo {
    name: "users",
    version: env!("CARGO_PKG_VERSION"),
};

/// What every handler can reach.
#[derive(Debug, Clone, FromRef)]
pub struct AppState {
    pub db: PgPool,
    /// Signs access tokens and publishes their keys.
    pub tokens: Arc<TokenIssuer>,
    /// Checks this service's own tokens (`/v1/users/me`), against its published keys.
    pub verifier: Verifier,
    /// Argon2 hashing, a bounded number at a time.
    pub hasher: PasswordHasher,
    /// Failed sign-ins allowed per account and per address.
    pub sign_in_limits: Limits,
}

/// The service's contract, built from the code alone: every route of `routes::router()`
/// (compared with the committed `openapi.json` by a test).
pub fn openapi() -> utoipa::openapi::OpenApi {
    shop_server::openapi_document(SERVICE, routes::router())
}

/// Connects to the database, applies migrations, creates the topics (if the broker
/// answers), loads the signing key, makes sure the admin account exists, binds the
/// listener, and starts the outbox relay beside it.
pub async fn build(config: Config) -> anyhow::Result<Application> {
    let pool = shop_db::connect_and_migrate(&config.database, &db::MIGRATOR).await?;
    let backbone = Backbone::connect(&pool, &config.kafka, SERVICE.name)
        .await?
        .publishing()?;
    let tokens = Arc::new(TokenIssuer::load(&config.tokens, &pool).await?);
    let hasher = PasswordHasher::with_queue_wait(
        config.password_hash_concurrency,
        config.password_hash_queue_wait,
    )
    .context("cannot start the password hashing threads")?;
    bootstrap::ensure_admin(&pool, &hasher, &config.admin).await?;
    let readiness = backbone.readiness()?;
    let state = AppState {
        db: pool.clone(),
        verifier: tokens.verifier(),
        tokens,
        hasher,
        sign_in_limits: config.sign_in_limits,
    };
    let verifier = state.verifier.clone();
    let api = routes::router().with_state(state);
    let app = Faults::new(config.faults)
        .serve(SERVICE, &config.server, api, readiness, verifier)
        .await?;
    let background = backbone.into_background();
    Ok(app.with_background(background))
}
