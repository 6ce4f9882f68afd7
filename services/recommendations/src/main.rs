//! The recommendations service: see `app.rs` for what it serves.

use recommendations::{app, config, config::Config};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let env = shop_server::Env::from_process();
    // `recommendations healthcheck`: the container image's health probe (it has no shell or curl).
    shop_server::healthcheck::run_if_asked(&env, config::PORT).await;
    let _telemetry = shop_telemetry::init(app::SERVICE)?;
    let config = Config::from_env(&env)?;
    app::build(config).await?.run_until_stopped().await?;
    Ok(())
}
