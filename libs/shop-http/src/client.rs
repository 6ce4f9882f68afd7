//! [`ServiceClient`]: one call, made resilient (deadline, bulkhead, breaker, one retry
//! within the budget) and traced, in one place.

use crate::breaker::{BreakerState, CircuitBreaker};
use crate::budget::RetryBudget;
use crate::deadline;
use crate::error::{CallError, transport_error};
use crate::registry::{self, Counters, DependencyReport};
use crate::settings::{ClientSettings, POOL_IDLE_TIMEOUT};
use http::{HeaderValue, StatusCode};
use reqwest::{Method, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tracing::Instrument;

/// One client's state, shared by its clones.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) service: &'static str,
    /// Base URLs, normalised (no trailing `/`); requests are built against the first.
    pub(crate) instances: Vec<String>,
    pub(crate) next_instance: AtomicUsize,
    pub(crate) http: reqwest::Client,
    pub(crate) settings: ClientSettings,
    pub(crate) breaker: CircuitBreaker,
    pub(crate) budget: RetryBudget,
    pub(crate) bulkhead: Arc<Semaphore>,
    pub(crate) counters: Counters,
}

/// A client for one named dependency, at one or more base URLs (instances). Clones share
/// their breaker, bulkhead and budget.
#[derive(Debug, Clone)]
pub struct ServiceClient {
    shared: Arc<Shared>,
}

impl ServiceClient {
    /// `service` names the dependency in spans, metrics and errors (`"catalog"`).
    pub fn new(service: &'static str, base_url: &str, timeout: Duration) -> Self {
        Self::with_settings(service, &[base_url], ClientSettings::new(timeout))
    }

    /// A client for several instances of one dependency: calls go round-robin, and a
    /// retry goes to another instance than the one that failed.
    pub fn with_instances(service: &'static str, base_urls: &[&str], timeout: Duration) -> Self {
        Self::with_settings(service, base_urls, ClientSettings::new(timeout))
    }

    pub fn with_settings(
        service: &'static str,
        base_urls: &[&str],
        settings: ClientSettings,
    ) -> Self {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(2)))
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .build()
            // Building fails only if the TLS backend cannot initialise; without TLS it cannot.
            .unwrap_or_default();
        let mut instances: Vec<String> = base_urls.iter().map(|url| normalise(url)).collect();
        if instances.is_empty() {
            // Every request then fails to build, which names the service: a config mistake.
            instances.push(String::new());
        }
        let shared = Arc::new(Shared {
            service,
            instances,
            next_instance: AtomicUsize::new(0),
            http,
            settings,
            breaker: CircuitBreaker::new(service, settings.breaker),
            budget: RetryBudget::new(settings.retry_budget),
            bulkhead: Arc::new(Semaphore::new(settings.max_concurrent)),
            counters: Counters::default(),
        });
        registry::register(&shared);
        Self { shared }
    }

    pub fn service(&self) -> &'static str {
        self.shared.service
    }

    /// The first instance's base URL.
    pub fn base_url(&self) -> &str {
        &self.shared.instances[0]
    }

    pub fn breaker_state(&self) -> BreakerState {
        self.shared.breaker.state()
    }

    /// This client's entry of `/ops/dependencies`.
    pub fn report(&self) -> DependencyReport {
        self.shared.report()
    }

    /// Starts a request to `path` (which begins with `/`).
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.shared
            .http
            .request(method, format!("{}{path}", self.base_url()))
    }

    /// Sends a request, propagating context, and fails on any non-2xx status.
    pub async fn send(&self, request: RequestBuilder) -> Result<Response, CallError> {
        let response = self.exchange(request).await?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body = response.text().await.unwrap_or_default();
        Err(CallError::Status {
            service: self.service(),
            status,
            body,
        })
    }

    /// Sends a request, propagating context, and returns the answer whatever its status,
    /// body included: for a caller that passes another service's answers on unchanged.
    /// Only a missing answer (unreachable, timed out, cut off mid-body) is an error.
    pub async fn send_raw(&self, request: RequestBuilder) -> Result<RawResponse, CallError> {
        let response = self.exchange(request).await?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|source| transport_error(self.service(), source))?;
        Ok(RawResponse {
            status,
            headers,
            body,
        })
    }

    /// One call: the bulkhead, the deadline, the first attempt and perhaps one retry.
    /// Any status is an answer here.
    async fn exchange(&self, request: RequestBuilder) -> Result<Response, CallError> {
        let shared = &*self.shared;
        let service = shared.service;
        let request = request
            .build()
            .map_err(|source| CallError::Build { service, source })?;
        let Ok(_permit) = shared.bulkhead.clone().try_acquire_owned() else {
            shared.counters.saturated.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("http_client_rejected_total", "dependency" => service, "reason" => "saturated")
                .increment(1);
            return Err(CallError::Saturated { service });
        };
        shared.counters.calls.fetch_add(1, Ordering::Relaxed);
        shared.budget.deposit();

        let now = Instant::now();
        let budget = match deadline::current() {
            Some(inherited) => shared
                .settings
                .timeout
                .min(deadline::downstream_budget(inherited, now)),
            None => shared.settings.timeout,
        };
        let deadline = now + budget;

        let first = shared.next_instance.fetch_add(1, Ordering::Relaxed) % shared.instances.len();
        let spare = if is_idempotent(request.method()) {
            request.try_clone()
        } else {
            None
        };
        let outcome = shared.attempt(request, first, deadline).await;
        let Some(retry) = spare else {
            return outcome;
        };
        if !is_retryable(&outcome) || shared.breaker.state() == BreakerState::Open {
            return outcome;
        }
        let pause = jittered(shared.settings.retry_backoff);
        // A retry that cannot finish before the deadline is only more load.
        if Instant::now() + pause * 2 >= deadline || !shared.budget.withdraw() {
            return outcome;
        }
        shared.counters.retries.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("http_client_retries_total", "dependency" => service).increment(1);
        tokio::time::sleep(pause).await;
        let other = (first + 1) % shared.instances.len();
        shared.attempt(retry, other, deadline).await
    }

    /// `GET path`, decoded from JSON.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, CallError> {
        let (body, _headers) = self.get_json_with_headers(path).await?;
        Ok(body)
    }

    /// `GET path`, decoded from JSON, with the answer's headers: for a caller that needs
    /// what a header says about the answer too.
    pub async fn get_json_with_headers<T: DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<(T, http::HeaderMap), CallError> {
        let response = self.send(self.request(Method::GET, path)).await?;
        let headers = response.headers().clone();
        let body = response.json().await.map_err(|source| CallError::Decode {
            service: self.service(),
            source,
        })?;
        Ok((body, headers))
    }
}

impl Shared {
    /// One attempt at `instance`, in its client span, if the breaker lets it go.
    async fn attempt(
        &self,
        mut request: reqwest::Request,
        instance: usize,
        deadline: Instant,
    ) -> Result<Response, CallError> {
        let service = self.service;
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(CallError::Timeout { service });
        }
        if !self.breaker.allow() {
            self.counters
                .short_circuited
                .fetch_add(1, Ordering::Relaxed);
            metrics::counter!("http_client_rejected_total", "dependency" => service, "reason" => "circuit-open")
                .increment(1);
            return Err(CallError::CircuitOpen { service });
        }
        self.move_to(&mut request, instance);
        *request.timeout_mut() = Some(remaining);
        let span = tracing::info_span!(
            "HTTP call",
            otel.name = format!("{} {}", request.method(), service),
            otel.kind = "client",
            otel.status_code = tracing::field::Empty,
            http.request.method = %request.method(),
            server.address = request.url().host_str().unwrap_or_default(),
            server.port = request.url().port_or_known_default().unwrap_or_default(),
            url.full = %request.url(),
            peer.service = service,
            http.response.status_code = tracing::field::Empty,
        );
        let outcome = async {
            let headers = request.headers_mut();
            shop_telemetry::propagation::inject_into_headers(headers);
            if let Some(id) = shop_telemetry::request_id::current()
                && let Ok(value) = HeaderValue::from_str(&id)
            {
                headers.insert(shop_telemetry::request_id::HEADER, value);
            }
            headers.insert(
                deadline::HEADER,
                HeaderValue::from(remaining_millis(remaining)),
            );
            let outcome = self.http.execute(request).await;
            let span = tracing::Span::current();
            match outcome {
                Ok(response) => {
                    let status = response.status();
                    span.record("http.response.status_code", status.as_u16());
                    if status.is_server_error() {
                        span.record("otel.status_code", "ERROR");
                    }
                    Ok(response)
                }
                Err(source) => {
                    span.record("otel.status_code", "ERROR");
                    Err(transport_error(service, source))
                }
            }
        }
        .instrument(span)
        .await;
        let succeeded = outcome
            .as_ref()
            .is_ok_and(|response| !response.status().is_server_error());
        if !succeeded {
            self.counters.failures.fetch_add(1, Ordering::Relaxed);
        }
        self.breaker.record(succeeded);
        outcome
    }

    /// Points a request built against the first instance at `instance`.
    fn move_to(&self, request: &mut reqwest::Request, instance: usize) {
        let (Some(first), Some(target)) = (self.instances.first(), self.instances.get(instance))
        else {
            return;
        };
        if first == target {
            return;
        }
        let moved = request
            .url()
            .as_str()
            .strip_prefix(first.as_str())
            .and_then(|rest| reqwest::Url::parse(&format!("{target}{rest}")).ok());
        if let Some(url) = moved {
            *request.url_mut() = url;
        }
    }
}

/// Another service's answer, as it was: see [`ServiceClient::send_raw`].
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: http::StatusCode,
    pub headers: http::HeaderMap,
    pub body: bytes::Bytes,
}

/// Methods whose repetition has the effect of doing them once (RFC 9110 §9.2.2).
fn is_idempotent(method: &Method) -> bool {
    [
        Method::GET,
        Method::HEAD,
        Method::PUT,
        Method::DELETE,
        Method::OPTIONS,
    ]
    .contains(method)
}

/// Failures another attempt may not meet: no connection (nothing was sent), or a gateway's
/// or an overloaded server's answer. A timeout is not one: the budget is spent.
fn is_retryable(outcome: &Result<Response, CallError>) -> bool {
    match outcome {
        Ok(response) => matches!(
            response.status(),
            StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT
        ),
        Err(CallError::Unreachable { source, .. }) => source.is_connect(),
        Err(_) => false,
    }
}

/// `pause` times a random factor in [0.5, 1.5), so that callers who failed together do
/// not all retry together.
fn jittered(pause: Duration) -> Duration {
    use std::hash::BuildHasher;
    // RandomState is seeded randomly per thread and per instance: enough randomness for
    // jitter without a dependency.
    let random = std::collections::hash_map::RandomState::new().hash_one(Instant::now());
    let factor = 0.5 + (random % 1000) as f64 / 1000.0;
    pause.mul_f64(factor)
}

fn remaining_millis(remaining: Duration) -> u64 {
    u64::try_from(remaining.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// A base URL as `Url` writes it (lower-case host, no trailing `/`), so that a request's
/// URL starts with it.
fn normalise(base_url: &str) -> String {
    let parsed = reqwest::Url::parse(base_url)
        .map(|url| url.as_str().to_owned())
        .unwrap_or_else(|_| base_url.to_owned());
    parsed.trim_end_matches('/').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::http::HeaderMap;
    use axum::routing::get;

    async fn echo_headers(headers: HeaderMap) -> axum::Json<serde_json::Value> {
        let get = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        axum::Json(serde_json::json!({ "request_id": get("x-request-id") }))
    }

    #[tokio::test]
    async fn forwards_the_current_request_id_and_types_errors() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let app = Router::new().route("/echo", get(echo_headers));
        tokio::spawn(async move { axum::serve(listener, app).await });

        let client = ServiceClient::new("echo", &format!("http://{addr}"), Duration::from_secs(2));
        let seen: serde_json::Value =
            shop_telemetry::request_id::scope("req-42".to_owned(), client.get_json("/echo"))
                .await
                .expect("echo answers");
        assert_eq!(seen["request_id"], "req-42");

        let missing = client.get_json::<serde_json::Value>("/nope").await;
        assert_eq!(
            missing.expect_err("404").status(),
            Some(http::StatusCode::NOT_FOUND)
        );

        let closed = ServiceClient::new("closed", "http://127.0.0.1:9", Duration::from_secs(1));
        assert!(matches!(
            closed.get_json::<serde_json::Value>("/").await,
            Err(CallError::Unreachable { .. })
        ));
    }

    #[tokio::test]
    async fn send_raw_returns_any_answer_as_it_was() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let refuse = || async {
            (
                http::StatusCode::CONFLICT,
                [(http::header::CONTENT_TYPE, "application/problem+json")],
                r#"{"type":"/problems/conflict"}"#,
            )
        };
        let app = Router::new().route("/refuse", get(refuse));
        tokio::spawn(async move { axum::serve(listener, app).await });

        let client = ServiceClient::new("raw", &format!("http://{addr}"), Duration::from_secs(2));
        let answer = client
            .send_raw(client.request(Method::GET, "/refuse"))
            .await
            .expect("an answer, even a 409");
        assert_eq!(answer.status, http::StatusCode::CONFLICT);
        assert_eq!(
            answer.headers[http::header::CONTENT_TYPE],
            "application/problem+json"
        );
        assert_eq!(&answer.body[..], br#"{"type":"/problems/conflict"}"#);

        let closed = ServiceClient::new("closed", "http://127.0.0.1:9", Duration::from_secs(1));
        let error = closed
            .send_raw(closed.request(Method::GET, "/"))
            .await
            .expect_err("nobody listens on port 9");
        assert!(matches!(error, CallError::Unreachable { .. }), "{error}");
        assert_eq!(error.service(), "closed");
    }
}
