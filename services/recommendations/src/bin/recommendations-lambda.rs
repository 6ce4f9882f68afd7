//! The recommendations service as an AWS Lambda function: the container's router (see
//! `app::function_router`), served through the Lambda runtime API by `lambda_http`, which
//! turns each Function URL or HTTP API event into an HTTP request and the answer back.
//!
//! It reads what the container's event consumer writes; it runs no consumer itself.
//! Run it locally with `cargo xtask lambda`.

use recommendations::{app, config::Config};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let env = shop_server::Env::from_process();
    // Lambda (or an emulator of it) sets it for every function process; lambda_runtime
    // panics without it, so say what this binary is instead.
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() {
        anyhow::bail!(
            "AWS_LAMBDA_RUNTIME_API is not set: this binary is a Lambda function and needs a Lambda \
             runtime API (on AWS, or locally `cargo xtask lambda`); the container runs \
             `recommendations`"
        );
    }
    let _telemetry = shop_telemetry::init(app::SERVICE)?;
    let config = Config::from_env(&env)?;
    let router = app::function_router(&config)?;
    lambda_http::run(router)
        .await
        .map_err(|error| anyhow::anyhow!("the Lambda runtime stopped: {error}"))
}
