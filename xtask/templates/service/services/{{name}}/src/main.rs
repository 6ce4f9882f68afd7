//! The {{name}} service: see `app.rs` for what it serves.

use {{name}}::{app, config, config::Config};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // `{{name}} healthcheck`, telemetry, configuration, build, serve: shop_server::run_service.
    shop_server::run_service(app::SERVICE, config::PORT, Config::from_env, app::build).await
}
