//! `<service> healthcheck`: the container's health probe, built into the service binary.
//!
//! The runtime image (distroless) has no shell, curl or wget, so Docker's `HEALTHCHECK` and
//! compose's `healthcheck` run the service binary itself with this one argument. It asks the
//! service's own `/health/ready` on the address the service listens on and exits 0 when
//! it answers 2xx, 1 otherwise, saying why on stderr. It reads `LISTEN_ADDR` only, so it
//! starts in milliseconds and never touches the database, the broker or telemetry.

use crate::ServerConfig;
use shop_config::Env;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// The argument that turns the binary into its own probe.
pub const ARGUMENT: &str = "healthcheck";

/// How long the probe waits for an answer (Docker's own timeout should be longer).
const TIMEOUT: Duration = Duration::from_secs(3);

/// When the binary was started as `<service> healthcheck`: probes and exits the process.
/// Otherwise returns at once, and the service starts as usual.
pub async fn run_if_asked(env: &Env, default_port: u16) {
    if std::env::args().nth(1).as_deref() != Some(ARGUMENT) {
        return;
    }
    let code = match ServerConfig::from_env(env, default_port) {
        Ok(config) => match probe(config.listen_addr).await {
            Ok(()) => 0,
            Err(reason) => {
                eprintln!("not ready: {reason}");
                1
            }
        },
        Err(error) => {
            eprintln!("cannot read the configuration: {error}");
            1
        }
    };
    std::process::exit(code);
}

/// GET `/health/ready` on the address the service listens on.
pub async fn probe(listen_addr: SocketAddr) -> Result<(), String> {
    let url = format!("http://{}/health/ready", reachable(listen_addr));
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .build()
        .map_err(|error| format!("cannot build an HTTP client: {error}"))?;
    let response = client
        .get(&url)
        .send()
        .await
        .map_err(|error| format!("{url}: {error}"))?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        let body = response.text().await.unwrap_or_default();
        Err(format!("{url} answered {status}: {body}"))
    }
}

/// A service listening on every interface (`0.0.0.0`, `[::]`) is asked on loopback.
fn reachable(listen_addr: SocketAddr) -> SocketAddr {
    let ip = match listen_addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen_addr.port())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::http::StatusCode;
    use axum::routing::get;

    #[test]
    fn every_interface_is_asked_on_loopback() {
        let on = |addr: &str| reachable(addr.parse().unwrap()).to_string();
        assert_eq!(on("0.0.0.0:8082"), "127.0.0.1:8082");
        assert_eq!(on("[::]:8082"), "[::1]:8082");
        assert_eq!(on("10.1.2.3:8082"), "10.1.2.3:8082");
    }

    async fn serve(status: StatusCode) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new().route("/health/ready", get(move || async move { status }));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        addr
    }

    #[tokio::test]
    async fn ready_is_success_and_anything_else_is_not() {
        assert_eq!(probe(serve(StatusCode::OK).await).await, Ok(()));
        let failing = probe(serve(StatusCode::SERVICE_UNAVAILABLE).await).await;
        assert!(failing.unwrap_err().contains("503"));
    }

    #[tokio::test]
    async fn nothing_listening_is_not_ready() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        assert!(probe(addr).await.is_err());
    }
}
