//! The accept loop: hyper's server with the limits `axum::serve` leaves out.
//!
//! `axum::serve` builds hyper without a timer, so a client that sends half a request holds
//! its connection, and a graceful shutdown, forever. This loop follows axum's
//! `serve-with-hyper` example and adds what a server on the internet needs:
//!
//! - a header-read timeout. For HTTP/1 hyper starts it whenever it waits for a request
//!   head, so it is also the idle timeout of a kept-alive connection;
//! - HTTP/2 keep-alive pings, which close a connection whose peer has gone;
//! - a cap on open connections. At the cap the loop stops accepting, and new clients wait
//!   in the kernel's backlog instead of costing memory;
//! - a graceful shutdown with a bound. Idle connections close at once, and requests in
//!   flight get the drain time. A request head that has begun to arrive is waited for,
//!   which the header-read timeout bounds: it is kept below the drain time.

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// How long a connection may live without doing anything useful, and how many may be open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// A request head not complete after this closes the connection, as does a kept-alive
    /// HTTP/1 connection idle this long. Clients that keep connections in a pool must drop
    /// idle ones sooner (shop-http's clients do, see `shop_http::POOL_IDLE_TIMEOUT`).
    pub header_read_timeout: Duration,
    /// Connections open at once; the next one waits in the backlog.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            // Below the 20 s drain, so a slow client cannot hold up a shutdown past it, and
            // above shop-http's pool idle timeout (5 s).
            header_read_timeout: Duration::from_secs(10),
            max_connections: 1024,
        }
    }
}

/// An HTTP/2 connection whose peer does not answer a ping in this time is closed.
const H2_KEEP_ALIVE: Duration = Duration::from_secs(20);

/// A failed `accept` (out of file descriptors, say) is retried after this pause, as
/// `axum::serve` does, rather than spinning or giving up.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_secs(1);

/// Serves `router` on `listener` until `stopping` is cancelled, then closes idle
/// connections and waits at most `drain` for the requests in flight. Handlers can extract
/// `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    stopping: CancellationToken,
    drain: Duration,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(H2_KEEP_ALIVE)
        .keep_alive_timeout(H2_KEEP_ALIVE);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();

    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                // Never closed: this loop owns the semaphore.
                Err(_closed) => break,
            },
            () = stopping.cancelled() => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::error!(%error, "cannot accept a connection");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    continue;
                }
            },
            () = stopping.cancelled() => break,
        };
        let service = router
            .clone()
            .map_request(move |mut request: http::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            });
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service))
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // A client that goes away or times out is an ordinary end of a connection.
            if let Err(error) = connection.await {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
            drop(permit);
        });
    }

    // No new connections; idle ones close now, busy ones after their response.
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(drain) => {
            tracing::warn!("requests still running after the drain timeout; stopping anyway");
        }
    }
}
