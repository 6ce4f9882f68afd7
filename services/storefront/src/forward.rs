//! Passing a browser's API call on to the service that owns it, and its answer back as it
//! was: status, content type and body, so a problem+json stays the owner's problem.

use crate::error::Error;
use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::response::Response;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use shop_http::{CallError, RawResponse, ServiceClient};
use shop_server::{ClientAddr, Problem};
use utoipa::IntoResponses;

/// Replays a `POST /v1/orders` safely: the orders service keys its deduplication on it.
const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");

/// The client's address: the users service limits sign-in attempts per address, which
/// would otherwise be the storefront's own for every customer.
pub const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// The request headers that mean something to the owning service. Anything else (cookies,
/// hop-by-hop headers) stays here; trace context and request id are added by the client.
const REQUEST_HEADERS: [HeaderName; 3] = [AUTHORIZATION, IDEMPOTENCY_KEY, CONTENT_TYPE];

/// The answer headers that are part of its meaning.
const ANSWER_HEADERS: [HeaderName; 4] = [
    CONTENT_TYPE,
    RETRY_AFTER,
    WWW_AUTHENTICATE,
    // Which ranking answered, during a recommendations canary.
    HeaderName::from_static(crate::domain::home::RankingVersion::HEADER),
];

/// What the owning service needs from an incoming request: its query string, the headers
/// that mean something to it, and its body.
#[derive(Debug)]
pub struct Incoming {
    query: Option<String>,
    headers: HeaderMap,
    body: Bytes,
}

impl<S: Send + Sync> FromRequest<S> for Incoming {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let query = request.uri().query().map(str::to_owned);
        let mut headers = only(request.headers(), &REQUEST_HEADERS);
        if let Some(chain) = forwarded_for(request.headers(), request.extensions()) {
            headers.insert(X_FORWARDED_FOR, chain);
        }
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                Problem::from_status(rejection.status()).with_detail(rejection.body_text())
            })?;
        Ok(Self {
            query,
            headers,
            body,
        })
    }
}

impl Incoming {
    /// Sends this request to `path` of `upstream` and returns the answer unchanged.
    pub async fn forward(
        self,
        upstream: &ServiceClient,
        method: Method,
        path: &str,
    ) -> Result<Response, Error> {
        let answer = self.send(upstream, method, path).await?;
        Ok(pass_back(answer))
    }

    /// Sends this request to `path` of `upstream`: its answer, whatever the status.
    pub async fn send(
        self,
        upstream: &ServiceClient,
        method: Method,
        path: &str,
    ) -> Result<RawResponse, CallError> {
        let target = match &self.query {
            Some(query) => format!("{path}?{query}"),
            None => path.to_owned(),
        };
        let mut request = upstream.request(method, &target).headers(self.headers);
        if !self.body.is_empty() {
            request = request.body(self.body);
        }
        upstream.send_raw(request).await
    }

    /// The query string's `name` parameter, if there is one.
    pub fn query_parameter(&self, name: &str) -> Option<String> {
        let query = self.query.as_deref()?;
        form_urlencoded::parse(query.as_bytes())
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    }
}

/// The upstream's status, meaningful headers and body, as the storefront's own answer.
pub fn pass_back(answer: RawResponse) -> Response {
    let mut response = Response::new(Body::from(answer.body));
    *response.status_mut() = answer.status;
    *response.headers_mut() = only(&answer.headers, &ANSWER_HEADERS);
    response
}

/// `X-Forwarded-For` for the owning service: the client's address alone, as the storefront
/// found it (`TRUSTED_PROXIES`). It replaces what the client sent: the users service trusts
/// the storefront, so a hop a client wrote itself would be believed there.
pub fn forwarded_for(headers: &HeaderMap, extensions: &http::Extensions) -> Option<HeaderValue> {
    let ClientAddr(client) = ClientAddr::of(headers, extensions);
    client.and_then(|ip| HeaderValue::from_str(&ip.to_string()).ok())
}

fn only(headers: &HeaderMap, names: &[HeaderName]) -> HeaderMap {
    let mut kept = HeaderMap::new();
    for name in names {
        for value in headers.get_all(name) {
            kept.append(name.clone(), value.clone());
        }
    }
    kept
}

/// The answers every pass-through route may give besides its owner's success. Never
/// built: it only describes them in the OpenAPI document.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum PassThroughErrors {
    /// The owning service's problem, passed on unchanged (or the storefront's own, for a
    /// malformed id in the path).
    #[response(status = "4XX", content_type = "application/problem+json")]
    Refused(Problem),
    /// `/problems/upstream-unavailable`: the owning service, named in `service`, cannot be
    /// reached or did not answer in time. (Its own 503 problems are passed on unchanged.)
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(Problem),
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::extract::ConnectInfo;
    use axum::routing::post;
    use shop_server::TrustedProxies;
    use std::net::SocketAddr;
    use std::time::Duration;

    /// Answers with what it received, as an upstream that echoes would.
    async fn echo(
        headers: HeaderMap,
        uri: http::Uri,
        body: Bytes,
    ) -> axum::Json<serde_json::Value> {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        axum::Json(serde_json::json!({
            "authorization": header("authorization"),
            "idempotency_key": header("idempotency-key"),
            "content_type": header("content-type"),
            "cookie": header("cookie"),
            "forwarded_for": header("x-forwarded-for"),
            "query": uri.query(),
            "body": String::from_utf8_lossy(&body),
        }))
    }

    #[tokio::test]
    async fn forwards_the_query_the_meaningful_headers_and_the_body_only() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let upstream = Router::new().route("/v1/echo", post(echo));
        tokio::spawn(async move { axum::serve(listener, upstream).await });
        let client = ServiceClient::new("echo", &format!("http://{addr}"), Duration::from_secs(2));

        let mut request = http::Request::post("/api/echo?page=2&per_page=5")
            .header("authorization", "Bearer abc")
            .header("idempotency-key", "key-1")
            .header("content-type", "application/json")
            .header("cookie", "session=secret")
            .header("x-forwarded-for", "203.0.113.7")
            .body(axum::body::Body::from(r#"{"items":[]}"#))
            .unwrap();
        let peer = SocketAddr::from(([192, 0, 2, 1], 50000));
        request.extensions_mut().insert(ConnectInfo(peer));
        request.extensions_mut().insert(ingress());
        let incoming = Incoming::from_request(request, &()).await.unwrap();
        let response = incoming
            .forward(&client, Method::POST, "/v1/echo")
            .await
            .unwrap();

        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let seen: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            seen,
            serde_json::json!({
                "authorization": "Bearer abc",
                "idempotency_key": "key-1",
                "content_type": "application/json",
                "cookie": null,
                // The peer is no proxy of ours: what it claimed is replaced.
                "forwarded_for": "192.0.2.1",
                "query": "page=2&per_page=5",
                "body": r#"{"items":[]}"#,
            })
        );
    }

    /// The networks an ingress in front of the storefront would be in.
    fn ingress() -> TrustedProxies {
        TrustedProxies::new(["10.0.0.0/8".parse().expect("network")])
    }

    #[test]
    fn behind_a_trusted_ingress_the_client_it_reports_is_passed_on_alone() {
        let mut headers = HeaderMap::new();
        // The client forged the first hop; the ingress appended the address it saw.
        headers.insert(
            X_FORWARDED_FOR,
            HeaderValue::from_static("192.0.2.66, 203.0.113.7"),
        );
        let mut extensions = http::Extensions::new();
        extensions.insert(ConnectInfo(SocketAddr::from(([10, 1, 2, 3], 40000))));
        extensions.insert(ingress());

        let passed_on = forwarded_for(&headers, &extensions).expect("a client");

        assert_eq!(passed_on, "203.0.113.7");
    }
}
