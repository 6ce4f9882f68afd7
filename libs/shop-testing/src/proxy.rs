//! A TCP proxy that a test can switch off, to make a dependency unreachable without
//! stopping the real server other tests share.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Forwards connections from its own port to `target` while enabled. Disabling it closes
/// every open connection and refuses new ones; enabling it restores service.
#[derive(Debug)]
pub struct TcpProxy {
    addr: SocketAddr,
    enabled: Arc<AtomicBool>,
    /// Bumped on every disable so open connections notice and close.
    generation: watch::Sender<u64>,
}

impl TcpProxy {
    pub async fn start(target: impl Into<String>) -> std::io::Result<Self> {
        let target = target.into();
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let enabled = Arc::new(AtomicBool::new(true));
        let (generation, _) = watch::channel(0u64);
        let accept_enabled = enabled.clone();
        let accept_generation = generation.clone();
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                if !accept_enabled.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let target = target.clone();
                let mut cut = accept_generation.subscribe();
                tokio::spawn(async move {
                    let Ok(outbound) = TcpStream::connect(&target).await else {
                        return;
                    };
                    let (mut inbound, mut outbound) = (inbound, outbound);
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Ok(Self {
            addr,
            enabled,
            generation,
        })
    }

    /// `127.0.0.1:<port>`: point the service here instead of at the real server.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Cuts every connection and refuses new ones.
    pub fn disable(&self) {
        self.enabled.store(false, Ordering::SeqCst);
        self.generation.send_modify(|generation| *generation += 1);
    }

    pub fn enable(&self) {
        self.enabled.store(true, Ordering::SeqCst);
    }
}
