//! Extractors whose rejections are problem+json, naming the offending field.
//!
//! axum's own `Json` and `Query` reject with plain text; these wrap the same parsing and
//! report `422 /problems/validation` with the field's path (`items[0].quantity`), or
//! `400`/`415` when the body is not JSON at all.
//!
//! They also refuse the NUL character in any string (`422`, naming the field): Postgres
//! cannot store it in `text`, so it must never get that far. The contract says so: every
//! plain string schema carries the pattern [`NO_NUL_PATTERN`].

use crate::problem::{FieldError, Problem};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::request::Parts;
use http::{HeaderValue, StatusCode, header};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A JSON request body or response.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !has_json_content_type(req.headers()) {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Expected a JSON body",
            )
            .with_detail("set `Content-Type: application/json`"));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            let status = rejection.status();
            Problem::from_status(status).with_detail(rejection.body_text())
        })?;
        parse_json(&bytes).map(Json)
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// The pattern the contract gives every string without a format of its own: no NUL.
pub const NO_NUL_PATTERN: &str = "^[^\\u0000]*$";

const NUL_MESSAGE: &str = "must not contain the NUL character (U+0000)";

/// Parses a JSON document, turning serde's error into a field-level problem.
///
/// In two steps, a JSON value first: a string's NUL is found wherever it is, keys included,
/// before any type sees it.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let document = serde_json::Value::deserialize(&mut deserializer)
        .map_err(|error| Problem::bad_request(format!("the body is not valid JSON: {error}")))?;
    deserializer.end().map_err(|e| {
        Problem::bad_request(format!("trailing characters after the JSON body: {e}"))
    })?;
    if let Some(field) = nul_in(&document, String::new()) {
        return Err(nul_problem(&field));
    }
    serde_path_to_error::deserialize(document)
        .map_err(|error| field_problem(&error.path().to_string(), &error.inner().to_string()))
}

/// The problem for a NUL in `field`, which is named with its NUL written as `\0`: the
/// answer must not hold what the request may not.
fn nul_problem(field: &str) -> Problem {
    Problem::invalid_field(field.replace('\0', "\\0"), NUL_MESSAGE)
}

/// The path (as serde_path_to_error writes it) of the first string holding a NUL.
fn nul_in(value: &serde_json::Value, path: String) -> Option<String> {
    use serde_json::Value;
    let or_root = |path: String| {
        if path.is_empty() {
            ".".to_owned()
        } else {
            path
        }
    };
    match value {
        Value::String(text) => text.contains('\0').then(|| or_root(path)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_in(item, format!("{path}[{i}]"))),
        Value::Object(members) => members.iter().find_map(|(key, member)| {
            let at = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            if key.contains('\0') {
                Some(at)
            } else {
                nul_in(member, at)
            }
        }),
        Value::Null | Value::Bool(_) | Value::Number(_) => None,
    }
}

/// Query string parameters.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        if let Some((key, _)) = url_form_parse(query.as_bytes())
            .find(|(key, value)| key.contains('\0') || value.contains('\0'))
        {
            return Err(nul_problem(&key));
        }
        let deserializer = serde_urlencoded::Deserializer::new(url_form_parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
            .map(Query)
            .map_err(|error| field_problem(&error.path().to_string(), &error.inner().to_string()))
    }
}

/// Path parameters, such as the `{id}` of `/v1/orders/{id}`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // `%00` is the only way a NUL gets into a path.
        if parts.uri.path().contains("%00") {
            return Err(Problem::invalid_field("path", NUL_MESSAGE));
        }
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(rejection) => {
                use axum::extract::rejection::PathRejection;
                let (field, message) = match &rejection {
                    PathRejection::FailedToDeserializePathParams(error) => {
                        let kind = error.kind();
                        let field = match kind {
                            axum::extract::path::ErrorKind::ParseErrorAtKey { key, .. }
                            | axum::extract::path::ErrorKind::InvalidUtf8InPathParam { key }
                            | axum::extract::path::ErrorKind::DeserializeError { key, .. } => {
                                key.clone()
                            }
                            _ => "path".to_owned(),
                        };
                        (field, kind.to_string())
                    }
                    other => ("path".to_owned(), other.body_text()),
                };
                Err(Problem::validation(vec![FieldError { field, message }]))
            }
        }
    }
}

fn url_form_parse(input: &[u8]) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(input)
}

/// serde reports a missing field at the parent's path, naming it in backticks: lift that
/// name into the path so the client learns which field it was. (An unknown field's path
/// already ends with its name.)
fn field_problem(path: &str, message: &str) -> Problem {
    let named = message
        .split('`')
        .nth(1)
        .filter(|_| message.starts_with("missing field"));
    let field = match (path, named) {
        (".", Some(name)) => name.to_owned(),
        (parent, Some(name)) => format!("{parent}.{name}"),
        (path, None) => path.to_owned(),
    };
    let message = match message.find(" at line ") {
        Some(cut) => &message[..cut],
        None => message,
    };
    Problem::validation(vec![FieldError {
        field,
        message: message.to_owned(),
    }])
}

fn has_json_content_type(headers: &http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value: &HeaderValue| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(|mime| {
            let mime = mime.trim();
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Order {
        items: Vec<Line>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Line {
        product_id: String,
        quantity: u32,
    }

    fn field_of(body: &str) -> String {
        let problem = parse_json::<Order>(body.as_bytes()).expect_err("must be rejected");
        assert_eq!(problem.status, 422, "{problem:?}");
        problem.errors[0].field.clone()
    }

    #[test]
    fn names_the_field_with_a_wrong_type() {
        assert_eq!(
            field_of(r#"{"items":[{"product_id":"a","quantity":-1}]}"#),
            "items[0].quantity"
        );
    }

    #[test]
    fn names_a_missing_field() {
        assert_eq!(
            field_of(r#"{"items":[{"product_id":"a"}]}"#),
            "items[0].quantity"
        );
        assert_eq!(field_of(r#"{}"#), "items");
    }

    #[test]
    fn rejects_unknown_fields_by_name() {
        assert_eq!(field_of(r#"{"items":[],"total":0}"#), "total");
    }

    #[test]
    fn names_the_string_with_a_nul() {
        assert_eq!(
            field_of(r#"{"items":[{"product_id":"a\u0000b","quantity":1}]}"#),
            "items[0].product_id"
        );
        assert_eq!(field_of(r#"{"items":[],"to\u0000tal":0}"#), r"to\0tal");
    }

    #[tokio::test]
    async fn a_nul_in_the_query_is_refused_by_name() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Search {
            category: Option<String>,
        }
        let request = http::Request::get("/v1/products?category=a%00b")
            .body(())
            .expect("a request");
        let (mut parts, ()) = request.into_parts();
        let problem = Query::<Search>::from_request_parts(&mut parts, &())
            .await
            .expect_err("must be rejected");
        assert_eq!(problem.status, 422);
        assert_eq!(problem.errors[0].field, "category");
    }

    #[test]
    fn malformed_json_is_a_bad_request() {
        let problem = parse_json::<Order>(b"{not json").expect_err("must be rejected");
        assert_eq!(problem.status, 400);
        assert_eq!(problem.problem_type, "/problems/bad-request");
    }
}
