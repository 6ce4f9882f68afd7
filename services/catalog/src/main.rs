//! The catalog service: see `app.rs` for what it serves.

use catalog::{app, config::Config};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = shop_telemetry::init(app::SERVICE)?;
    let config = Config::from_env(&shop_server::Env::from_process())?;
    app::build(config).await?.run_until_stopped().await?;
    Ok(())
}
