//! The client every Harbor Shop service uses to call another over HTTP.
//!
//! Each call opens a client span (OpenTelemetry HTTP conventions), and carries the caller's
//! trace context (`traceparent`) and request id (`x-request-id`), so the callee's work joins
//! the same trace and the same log search. Errors are typed: a caller can tell "the other
//! service said no" ([`CallError::Status`]) from "the other service is not there"
//! ([`CallError::Unreachable`], [`CallError::Timeout`]).

use http::HeaderValue;
use reqwest::{Method, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use std::time::Duration;
use tracing::Instrument;

/// Why a call did not produce the expected answer.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("{service} is unreachable: {source}")]
    Unreachable {
        service: &'static str,
        #[source]
        source: reqwest::Error,
    },
    #[error("{service} did not answer in time")]
    Timeout { service: &'static str },
    #[error("{service} answered {status}: {body}")]
    Status {
        service: &'static str,
        status: http::StatusCode,
        body: String,
    },
    #[error("{service} sent an unreadable answer: {source}")]
    Decode {
        service: &'static str,
        #[source]
        source: reqwest::Error,
    },
    #[error("invalid request to {service}: {source}")]
    Build {
        service: &'static str,
        #[source]
        source: reqwest::Error,
    },
}

impl CallError {
    /// The service the call was for.
    pub fn service(&self) -> &'static str {
        match self {
            Self::Unreachable { service, .. }
            | Self::Timeout { service }
            | Self::Status { service, .. }
            | Self::Decode { service, .. }
            | Self::Build { service, .. } => service,
        }
    }

    /// The status the other service answered with, if it answered.
    pub fn status(&self) -> Option<http::StatusCode> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A client for one named dependency at one base URL.
#[derive(Debug, Clone)]
pub struct ServiceClient {
    service: &'static str,
    base_url: String,
    http: reqwest::Client,
}

impl ServiceClient {
    /// `service` names the dependency in spans, metrics and errors (`"catalog"`).
    pub fn new(service: &'static str, base_url: &str, timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(2)))
            .build()
            // Building fails only if the TLS backend cannot initialise; without TLS it cannot.
            .unwrap_or_default();
        Self {
            service,
            base_url: base_url.trim_end_matches('/').to_owned(),
            http,
        }
    }

    pub fn service(&self) -> &'static str {
        self.service
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Starts a request to `path` (which begins with `/`).
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base_url))
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
            service: self.service,
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
            .map_err(|source| transport_error(self.service, source))?;
        Ok(RawResponse {
            status,
            headers,
            body,
        })
    }

    /// One call in its client span. Any status is an answer here.
    async fn exchange(&self, request: RequestBuilder) -> Result<Response, CallError> {
        let service = self.service;
        let mut request = request
            .build()
            .map_err(|source| CallError::Build { service, source })?;
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
        async {
            let headers = request.headers_mut();
            shop_telemetry::propagation::inject_into_headers(headers);
            if let Some(id) = shop_telemetry::request_id::current()
                && let Ok(value) = HeaderValue::from_str(&id)
            {
                headers.insert(shop_telemetry::request_id::HEADER, value);
            }
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
        .await
    }

    /// `GET path`, decoded from JSON.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, CallError> {
        let response = self.send(self.request(Method::GET, path)).await?;
        response.json().await.map_err(|source| CallError::Decode {
            service: self.service,
            source,
        })
    }
}

/// Another service's answer, as it was: see [`ServiceClient::send_raw`].
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: http::StatusCode,
    pub headers: http::HeaderMap,
    pub body: bytes::Bytes,
}

/// A call that got no (complete) answer.
fn transport_error(service: &'static str, source: reqwest::Error) -> CallError {
    if source.is_timeout() {
        CallError::Timeout { service }
    } else {
        CallError::Unreachable { service, source }
    }
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
