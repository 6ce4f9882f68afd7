use shop_server::Application;
use std::net::SocketAddr;
use tokio_util::sync::CancellationToken;

/// A service serving on a random port in the background; stops (gracefully) when dropped,
/// or when [`stop`](Self::stop)ped.
#[derive(Debug)]
pub struct RunningService {
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl RunningService {
    pub fn spawn(app: Application) -> Self {
        let addr = app.local_addr();
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        let task = tokio::spawn(async move {
            if let Err(error) = app.run_until(stopped.cancelled_owned()).await {
                panic!("the service failed: {error}");
            }
        });
        Self {
            addr,
            http: reqwest::Client::new(),
            stop,
            task,
        }
    }

    /// Stops the service as a shutdown signal would, and waits until it has: requests
    /// drained, consumers out of their groups, background tasks ended.
    pub async fn stop(&mut self) {
        self.stop.cancel();
        if !self.task.is_finished() {
            (&mut self.task).await.expect("the service stopped cleanly");
        }
    }

    /// `http://127.0.0.1:<port>`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Waits until `/health/ready` says `ready`: every check passes, so every consumer of
    /// the service holds partitions and will read what is published from now on. Panics
    /// with the last report after `patience`.
    pub async fn wait_until_ready(&self, patience: std::time::Duration) {
        let deadline = std::time::Instant::now() + patience;
        loop {
            let response = self.get("/health/ready").await;
            let status = response.status();
            let report: serde_json::Value = response.json().await.unwrap_or_default();
            if status == 200 && report["status"] == "ready" {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{} not ready within {patience:?}: {status} {report}",
                self.base_url()
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path} failed: {e}"))
    }
}

impl Drop for RunningService {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
