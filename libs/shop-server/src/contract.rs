//! What every operation's contract says without its handler saying it: the answers the
//! shared extractors and middleware give, and the strings Postgres cannot store.
//!
//! Written once here rather than on every route, so that no route can forget one:
//!
//! | answer | when | added to |
//! |---|---|---|
//! | 400 | the body is not JSON | operations with a body |
//! | 413 | the body is over the limit ([`HttpSettings`](crate::HttpSettings)) | operations with a body |
//! | 415 | the body is not `application/json` | operations with a body |
//! | 422 | a field or parameter is invalid ([`crate::extract`]) | operations with a body or parameters |
//! | 401 | the bearer token is missing or invalid | operations that name the `bearer` scheme |
//! | 503 | the request timed out, or a dependency is down | every operation |
//!
//! A route's own description of one of these statuses is kept. Every plain string (no
//! `format`, `enum` or `pattern` of its own) gets the pattern
//! [`NO_NUL_PATTERN`](crate::extract::NO_NUL_PATTERN), which the extractors enforce.

use crate::extract::NO_NUL_PATTERN;
use crate::problem::{FieldError, Problem};
use serde_json::{Map, Value, json};
use utoipa::openapi::OpenApi;
use utoipa::{PartialSchema, ToSchema};

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// `doc` with the shared answers and string constraints added.
pub fn complete(doc: OpenApi) -> Result<OpenApi, serde_json::Error> {
    let mut value = serde_json::to_value(&doc)?;
    add_problem_schemas(&mut value)?;
    if let Some(paths) = value.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut() {
            for method in METHODS {
                if let Some(operation) = item.get_mut(method) {
                    add_shared_answers(operation);
                }
            }
        }
    }
    forbid_nul(&mut value);
    serde_json::from_value(value)
}

fn add_problem_schemas(doc: &mut Value) -> Result<(), serde_json::Error> {
    let schemas = doc
        .as_object_mut()
        .map(|doc| doc.entry("components").or_insert_with(|| json!({})))
        .and_then(Value::as_object_mut)
        .map(|components| components.entry("schemas").or_insert_with(|| json!({})))
        .and_then(Value::as_object_mut);
    if let Some(schemas) = schemas {
        for (name, schema) in [
            (Problem::name(), Problem::schema()),
            (FieldError::name(), FieldError::schema()),
        ] {
            if !schemas.contains_key(name.as_ref()) {
                schemas.insert(name.into_owned(), serde_json::to_value(schema)?);
            }
        }
    }
    Ok(())
}

fn add_shared_answers(operation: &mut Value) {
    let has_body = operation.get("requestBody").is_some();
    let has_parameters = operation
        .get("parameters")
        .and_then(Value::as_array)
        .is_some_and(|parameters| !parameters.is_empty());
    let bearer = operation
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|requirements| requirements.iter().any(|r| r.get("bearer").is_some()));
    let Some(responses) = operation
        .get_mut("responses")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let mut add = |status: &str, description: &str| {
        responses
            .entry(status)
            .or_insert_with(|| problem_response(description));
    };
    if has_body {
        add("400", "The body is not valid JSON");
        add("413", "The body is larger than the service accepts");
        add(
            "415",
            "The body is not `application/json` (or another `+json` type)",
        );
    }
    if has_body || has_parameters {
        add(
            "422",
            "A field or parameter is invalid; `errors` names each",
        );
    }
    if bearer {
        add("401", "The bearer token is missing, expired or invalid");
    }
    add(
        "503",
        "The request timed out, or something the service depends on is down; \
         `Retry-After` may say when to try again",
    );
}

fn problem_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {
            crate::problem::CONTENT_TYPE: {
                "schema": { "$ref": "#/components/schemas/Problem" }
            }
        }
    })
}

/// Adds the no-NUL pattern to every plain string schema anywhere in `value`.
fn forbid_nul(value: &mut Value) {
    match value {
        Value::Object(members) => {
            if is_plain_string(members) {
                members.insert("pattern".to_owned(), json!(NO_NUL_PATTERN));
            }
            for member in members.values_mut() {
                forbid_nul(member);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(forbid_nul),
        _ => {}
    }
}

/// A schema of type string (or string-or-null) that constrains its characters no further.
fn is_plain_string(schema: &Map<String, Value>) -> bool {
    let string = match schema.get("type") {
        Some(Value::String(t)) => t == "string",
        Some(Value::Array(types)) => types.iter().any(|t| t == "string"),
        _ => false,
    };
    string
        && !["format", "enum", "pattern", "const"]
            .iter()
            .any(|key| schema.contains_key(*key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn operation(value: Value) -> Value {
        let mut operation = value;
        add_shared_answers(&mut operation);
        operation
    }

    #[test]
    fn a_body_brings_the_answers_of_the_json_extractor() {
        let op = operation(json!({
            "requestBody": {},
            "responses": { "422": { "description": "the route's own" } }
        }));
        let responses = op["responses"].as_object().expect("responses");
        for status in ["400", "413", "415", "422", "503"] {
            assert!(responses.contains_key(status), "{status}: {op}");
        }
        assert_eq!(responses["422"]["description"], "the route's own");
        assert!(!responses.contains_key("401"));
    }

    #[test]
    fn a_bearer_requirement_brings_401() {
        let op = operation(json!({ "security": [{ "bearer": [] }], "responses": {} }));
        assert!(op["responses"].get("401").is_some());
        assert!(op["responses"].get("422").is_none());
    }

    #[test]
    fn plain_strings_forbid_nul_and_formatted_ones_are_left_alone() {
        let mut schema = json!({
            "properties": {
                "name": { "type": "string" },
                "note": { "type": ["string", "null"] },
                "email": { "type": "string", "format": "email" },
                "sku": { "type": "string", "pattern": "^[A-Z]+$" }
            }
        });
        forbid_nul(&mut schema);
        let p = &schema["properties"];
        assert_eq!(p["name"]["pattern"], NO_NUL_PATTERN);
        assert_eq!(p["note"]["pattern"], NO_NUL_PATTERN);
        assert!(p["email"].get("pattern").is_none());
        assert_eq!(p["sku"]["pattern"], "^[A-Z]+$");
    }
}
