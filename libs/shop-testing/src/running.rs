use shop_server::Application;
use std::net::SocketAddr;
use tokio_util::sync::CancellationToken;

/// A service serving on a random port in the background; stops (gracefully) when dropped.
#[derive(Debug)]
pub struct RunningService {
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    stop: CancellationToken,
}

impl RunningService {
    pub fn spawn(app: Application) -> Self {
        let addr = app.local_addr();
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        tokio::spawn(async move { app.run_until(stopped.cancelled_owned()).await });
        Self {
            addr,
            http: reqwest::Client::new(),
            stop,
        }
    }

    /// `http://127.0.0.1:<port>`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
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
