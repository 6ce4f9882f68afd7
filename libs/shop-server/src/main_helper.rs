//! A service's `main`, once for all of them.

use crate::{Application, Env};
use shop_telemetry::ServiceInfo;

/// What every service's `main` does, in this order:
/// 1. `<service> healthcheck` (the container image's probe: it has no shell or curl)
///    probes the running service on its port and exits;
/// 2. telemetry starts (logs, traces, metrics), and is flushed when this returns;
/// 3. `read_config` reads the environment;
/// 4. `build` connects, migrates and binds;
/// 5. the service serves until SIGTERM or Ctrl-C, then drains.
///
/// ```ignore
/// #[tokio::main]
/// async fn main() -> anyhow::Result<()> {
///     shop_server::run_service(app::SERVICE, config::PORT, Config::from_env, app::build).await
/// }
/// ```
pub async fn run_service<C, ConfigErr, BuildErr, Built>(
    service: ServiceInfo,
    default_port: u16,
    read_config: impl FnOnce(&Env) -> Result<C, ConfigErr>,
    build: impl FnOnce(C) -> Built,
) -> anyhow::Result<()>
where
    // anyhow, so that a failed start prints its whole chain of causes.
    anyhow::Error: From<ConfigErr> + From<BuildErr>,
    Built: Future<Output = Result<Application, BuildErr>>,
{
    let env = Env::from_process();
    crate::healthcheck::run_if_asked(&env, default_port).await;
    let _telemetry = shop_telemetry::init(service)?;
    let config = read_config(&env).map_err(anyhow::Error::from)?;
    let app = build(config).await.map_err(anyhow::Error::from)?;
    app.run_until_stopped().await?;
    Ok(())
}
