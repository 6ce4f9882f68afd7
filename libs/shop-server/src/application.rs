//! A bound, runnable service (zero2prod's `Application`).

use crate::health::Readiness;
use crate::serve::{ConnectionLimits, serve};
use axum::Router;
use shop_telemetry::ServiceInfo;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// How long requests in flight may take to finish after the stop signal.
pub(crate) const DRAIN_TIMEOUT: Duration = Duration::from_secs(20);

/// How long background tasks (outbox relay, event consumers) may take to stop.
const BACKGROUND_STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// A service bound to its port. Binding first and running second lets tests bind port 0,
/// learn the real port, and only then start serving.
#[derive(Debug)]
pub struct Application {
    info: ServiceInfo,
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    readiness: Readiness,
    background: Background,
    /// The operator's listener, if apart from the public one, and what it serves.
    admin: Option<(TcpListener, Router)>,
}

/// Tasks that run beside the HTTP server (an outbox relay, event consumers), all stopped by
/// one token after the server has drained, so no request is left without its consumer.
#[derive(Debug, Default)]
pub struct Background {
    pub shutdown: CancellationToken,
    pub tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Application {
    pub async fn bind(
        info: ServiceInfo,
        addr: SocketAddr,
        router: Router,
        limits: ConnectionLimits,
        readiness: Readiness,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        Ok(Self {
            info,
            listener,
            router,
            limits,
            readiness,
            background: Background::default(),
            admin: None,
        })
    }

    /// Also serves `router` at `addr`: the operator's address, kept off the internet.
    pub async fn with_admin(mut self, addr: SocketAddr, router: Router) -> std::io::Result<Self> {
        self.admin = Some((TcpListener::bind(addr).await?, router));
        Ok(self)
    }

    /// The operator's address, if apart from the public one.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin
            .as_ref()
            .and_then(|(listener, _)| listener.local_addr().ok())
    }

    /// Runs `background` beside the server and stops it at shutdown, after the requests in
    /// flight have finished.
    pub fn with_background(mut self, background: Background) -> Self {
        self.background = background;
        self
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    /// Serves until Ctrl-C or SIGTERM.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(crate::shutdown::signal()).await
    }

    /// Serves until `shutdown` completes, then stops accepting connections, fails readiness,
    /// and waits (at most [`DRAIN_TIMEOUT`]) for the requests in flight.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let Self {
            info,
            listener,
            router,
            limits,
            readiness,
            background,
            admin,
        } = self;
        tracing::info!(service = info.name, addr = %listener.local_addr()?, "listening");
        let stopping = CancellationToken::new();
        let signalled = {
            let stopping = stopping.clone();
            async move {
                shutdown.await;
                readiness.start_draining();
                stopping.cancel();
            }
        };
        tokio::spawn(signalled);
        let public = serve(listener, router, limits, stopping.clone(), DRAIN_TIMEOUT);
        match admin {
            None => public.await,
            Some((admin_listener, admin_router)) => {
                tracing::info!(service = info.name, addr = %admin_listener.local_addr()?, "admin listening");
                let admin = serve(
                    admin_listener,
                    admin_router,
                    limits,
                    stopping,
                    DRAIN_TIMEOUT,
                );
                tokio::join!(public, admin);
            }
        }
        // Shutdown order: requests drained (above) → background tasks stopped → the caller
        // closes the pool and flushes telemetry as the application value drops.
        background.shutdown.cancel();
        let stopped = tokio::time::timeout(
            BACKGROUND_STOP_TIMEOUT,
            futures::future::join_all(background.tasks),
        )
        .await;
        if stopped.is_err() {
            tracing::warn!(service = info.name, "background tasks did not stop in time");
        }
        tracing::info!(service = info.name, "stopped");
        Ok(())
    }
}
