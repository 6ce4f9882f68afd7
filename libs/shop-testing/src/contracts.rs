//! Consumer contract tests: what each consumer relies on, checked in the provider's build.
//!
//! A service that calls another keeps, in its own folder, `contracts/<provider>.json`: the
//! operations it calls (the query parameters, headers and body fields it sends, and the
//! response fields it reads, by status) and the fields it reads of the provider's events.
//! The provider's test suite runs [`check_consumers_of`] on the contract its code generates
//! (and on the committed event schemas in `docs/events/`), so a provider change that would
//! break a consumer fails in the provider's build, with a message naming the consumer, the
//! operation or event, and the field.
//!
//! Written here rather than taken from Pact: the consumers and providers share one
//! repository, the providers' OpenAPI documents are already committed and exact, and a
//! check of field paths against them is the whole lesson in a page of code.
//!
//! A field path is dotted, with `[]` for "every element of an array": `items[].price.currency`.
//! A response field is relied on to be *present* (the schema must list it as required);
//! end it with `?` when the consumer copes without it. A request field must exist in the
//! provider's schema, and every field the provider requires must be one the consumer sends.

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One consumer's `contracts/<provider>.json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectations {
    /// Why the consumer calls this provider, for the reader.
    #[serde(rename = "$comment", default)]
    pub comment: String,
    #[serde(default)]
    pub operations: Vec<Operation>,
    #[serde(default)]
    pub events: Vec<EventFields>,
}

/// An operation the consumer calls.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operation {
    /// `GET /v1/products/{id}`, as the provider's document spells the path.
    pub operation: String,
    /// Where the consumer makes the call (a path in the repository), for the message.
    pub used_in: String,
    #[serde(default)]
    pub query: Vec<String>,
    #[serde(default)]
    pub headers: Vec<String>,
    /// The JSON body's fields the consumer sends.
    #[serde(default)]
    pub body: Vec<String>,
    /// By status code: the response fields the consumer reads.
    #[serde(default)]
    pub responses: BTreeMap<String, Vec<String>>,
}

/// The fields of one of the provider's events the consumer reads.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventFields {
    pub event: String,
    pub used_in: String,
    pub fields: Vec<String>,
}

/// The workspace's root (this crate is `libs/shop-testing`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every consumer's expectations of `provider`, by consumer name: each
/// `services/*/contracts/<provider>.json` and `libs/*/contracts/<provider>.json`.
pub fn consumers_of(provider: &str) -> BTreeMap<String, Expectations> {
    let mut found = BTreeMap::new();
    for folder in ["services", "libs"] {
        let Ok(entries) = std::fs::read_dir(workspace_root().join(folder)) else {
            continue;
        };
        for entry in entries.flatten() {
            let file = entry
                .path()
                .join("contracts")
                .join(format!("{provider}.json"));
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            let consumer = entry.file_name().to_string_lossy().into_owned();
            let expectations: Expectations = serde_json::from_str(&text).unwrap_or_else(|error| {
                panic!("{} is not a contract file: {error}", file.display())
            });
            found.insert(consumer, expectations);
        }
    }
    found
}

/// Panics, listing every broken expectation, unless each consumer of `provider` finds what
/// it relies on in `document` (the provider's OpenAPI document, as its code generates it)
/// and in the committed event schemas. Returns how many expectations were checked.
pub fn check_consumers_of(provider: &str, document: &impl serde::Serialize) -> usize {
    let document = serde_json::to_value(document).expect("an OpenAPI document is JSON");
    let consumers = consumers_of(provider);
    assert!(
        !consumers.is_empty(),
        "no service keeps contracts/{provider}.json: nothing relies on {provider}?"
    );
    let mut broken = Vec::new();
    let mut checked = 0;
    for (consumer, expectations) in &consumers {
        for operation in &expectations.operations {
            checked += 1;
            broken.extend(
                check_operation(&document, operation)
                    .into_iter()
                    .map(|why| {
                        format!(
                            "{consumer} ({}) calls `{}`: {why}",
                            operation.used_in, operation.operation
                        )
                    }),
            );
        }
        for event in &expectations.events {
            checked += 1;
            broken.extend(check_event(event).into_iter().map(|why| {
                format!(
                    "{consumer} ({}) reads `{}`: {why}",
                    event.used_in, event.event
                )
            }));
        }
    }
    assert!(
        broken.is_empty(),
        "{provider}'s contract breaks what its consumers rely on:\n  - {}\n\
         Keep the field (or add a new one beside it until the consumer moves), or change the \
         consumer and its contracts/{provider}.json in the same change.",
        broken.join("\n  - ")
    );
    checked
}

/// What is wrong with `operation` against `document`, one line per problem.
pub fn check_operation(document: &Value, operation: &Operation) -> Vec<String> {
    let Some((method, path)) = operation.operation.split_once(' ') else {
        return vec!["an operation is written `METHOD /path`".to_owned()];
    };
    let Some(spec) = document["paths"][path].get(method.to_ascii_lowercase()) else {
        return vec![format!("the contract has no `{method} {path}`")];
    };
    let mut broken = Vec::new();
    let parameters = spec["parameters"].as_array().cloned().unwrap_or_default();
    let has_parameter = |name: &str, place: &str| {
        parameters.iter().any(|parameter| {
            parameter["in"] == place
                && parameter["name"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
    };
    for name in &operation.query {
        if !has_parameter(name, "query") {
            broken.push(format!(
                "it sends the query parameter `{name}`, which the contract does not take"
            ));
        }
    }
    for name in &operation.headers {
        if !has_parameter(name, "header") {
            broken.push(format!(
                "it sends the header `{name}`, which the contract does not take"
            ));
        }
    }
    for parameter in &parameters {
        let name = parameter["name"].as_str().unwrap_or_default();
        let sent = match parameter["in"].as_str() {
            Some("query") => operation.query.iter().any(|n| n == name),
            Some("header") => operation
                .headers
                .iter()
                .any(|n| n.eq_ignore_ascii_case(name)),
            _ => true,
        };
        if parameter["required"] == true && !sent {
            broken.push(format!(
                "the contract requires the {} parameter `{name}`, which it does not send",
                parameter["in"].as_str().unwrap_or("?")
            ));
        }
    }
    let request = &spec["requestBody"]["content"]["application/json"]["schema"];
    if !operation.body.is_empty() || !request.is_null() {
        broken.extend(check_request_body(document, request, &operation.body));
    }
    for (status, fields) in &operation.responses {
        let Some(answer) = spec["responses"].get(status) else {
            broken.push(format!(
                "it handles the answer {status}, which the contract no longer gives"
            ));
            continue;
        };
        let schema = answer["content"]
            .as_object()
            .and_then(|content| content.values().next())
            .map(|media| &media["schema"])
            .unwrap_or(&Value::Null);
        for field in fields {
            if let Err(why) = check_field(document, schema, field) {
                broken.push(format!(
                    "it reads `{field}` of the {status} answer, but {why}"
                ));
            }
        }
    }
    broken
}

/// What is wrong with `event` against its committed schema in `docs/events/`.
pub fn check_event(event: &EventFields) -> Vec<String> {
    let file = workspace_root()
        .join("docs/events")
        .join(format!("{}.schema.json", event.event));
    let Ok(text) = std::fs::read_to_string(&file) else {
        return vec![format!("there is no event schema {}", file.display())];
    };
    let schema: Value = match serde_json::from_str(&text) {
        Ok(schema) => schema,
        Err(error) => return vec![format!("{} is not JSON: {error}", file.display())],
    };
    event
        .fields
        .iter()
        .filter_map(|field| {
            check_field(&schema, &schema, field)
                .err()
                .map(|why| format!("it reads `{field}`, but {why}"))
        })
        .collect()
}

fn check_request_body(document: &Value, schema: &Value, sent: &[String]) -> Vec<String> {
    if schema.is_null() {
        return vec!["it sends a JSON body, which the contract does not take".to_owned()];
    }
    let mut broken = Vec::new();
    for field in sent {
        if let Err(why) = check_field(document, schema, &format!("{field}?")) {
            broken.push(format!("it sends `{field}`, but {why}"));
        }
    }
    required_but_unsent(document, schema, "", sent, &mut broken);
    broken
}

/// Every property the provider requires, at the levels the consumer's fields reach, must
/// be one it sends.
fn required_but_unsent(
    document: &Value,
    schema: &Value,
    prefix: &str,
    sent: &[String],
    broken: &mut Vec<String>,
) {
    for view in alternatives(document, schema) {
        if let Some(items) = view.get("items") {
            required_but_unsent(document, items, &format!("{prefix}[]"), sent, broken);
            continue;
        }
        for name in view["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            let path = if prefix.is_empty() {
                name.to_owned()
            } else {
                format!("{prefix}.{name}")
            };
            let reached = sent.iter().any(|field| {
                field == &path
                    || field.starts_with(&format!("{path}."))
                    || field.starts_with(&format!("{path}[]"))
            });
            if !reached {
                broken.push(format!(
                    "the contract requires `{path}`, which it does not send"
                ));
            } else if let Some(property) = view["properties"].get(name) {
                required_but_unsent(document, property, &path, sent, broken);
            }
        }
    }
}

/// Follows `field` (`a.b[].c`, optionally ending in `?`) through `schema`: `Err` says where
/// the path leaves the schema, or that a field relied on is not required.
fn check_field(document: &Value, schema: &Value, field: &str) -> Result<(), String> {
    let (path, optional) = match field.strip_suffix('?') {
        Some(path) => (path, true),
        None => (field, false),
    };
    let mut nodes = vec![schema.clone()];
    let mut walked = String::new();
    for segment in path.split('.') {
        let (name, into_array) = match segment.strip_suffix("[]") {
            Some(name) => (name, true),
            None => (segment, false),
        };
        let mut next = Vec::new();
        for node in &nodes {
            for view in alternatives(document, node) {
                let Some(property) = view["properties"].get(name) else {
                    return Err(format!(
                        "the contract has no property `{name}`{}",
                        at(&walked)
                    ));
                };
                let required = view["required"]
                    .as_array()
                    .is_some_and(|required| required.iter().any(|r| r == name));
                if !required && !optional {
                    return Err(format!(
                        "the contract makes `{name}`{} optional",
                        at(&walked)
                    ));
                }
                if into_array {
                    let arrays = alternatives(document, property);
                    let Some(items) = arrays.iter().find_map(|a| a.get("items")) else {
                        return Err(format!("`{name}`{} is not an array", at(&walked)));
                    };
                    next.push(items.clone());
                } else {
                    next.push(property.clone());
                }
            }
        }
        walked = if walked.is_empty() {
            segment.to_owned()
        } else {
            format!("{walked}.{segment}")
        };
        nodes = next;
    }
    Ok(())
}

fn at(walked: &str) -> String {
    if walked.is_empty() {
        String::new()
    } else {
        format!(" under `{walked}`")
    }
}

/// The object schemas `schema` may be: `$ref`s followed, `allOf` merged, each `oneOf` or
/// `anyOf` branch but `null` on its own (a field must be in every one of them).
fn alternatives(document: &Value, schema: &Value) -> Vec<Value> {
    if let Some(reference) = schema["$ref"].as_str() {
        let pointer = reference.trim_start_matches('#');
        return match document.pointer(pointer) {
            Some(target) => alternatives(document, target),
            None => Vec::new(),
        };
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(branches) = schema[key].as_array() {
            return branches
                .iter()
                .filter(|branch| branch["type"] != "null")
                .flat_map(|branch| alternatives(document, branch))
                .collect();
        }
    }
    if let Some(parts) = schema["allOf"].as_array() {
        let mut merged = serde_json::Map::new();
        let mut properties = serde_json::Map::new();
        let mut required = Vec::new();
        for part in parts.iter().flat_map(|part| alternatives(document, part)) {
            if let Some(own) = part["properties"].as_object() {
                properties.extend(own.clone());
            }
            required.extend(part["required"].as_array().cloned().unwrap_or_default());
            if let Some(items) = part.get("items") {
                merged.insert("items".to_owned(), items.clone());
            }
        }
        merged.insert("properties".to_owned(), Value::Object(properties));
        merged.insert("required".to_owned(), Value::Array(required));
        return vec![Value::Object(merged)];
    }
    vec![schema.clone()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn document() -> Value {
        json!({
            "paths": {"/v1/things/{id}": {"get": {
                "parameters": [{"name": "id", "in": "path", "required": true}],
                "responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Page"}}}}}
            }, "post": {
                "parameters": [{"name": "Idempotency-Key", "in": "header", "required": true}],
                "requestBody": {"content": {"application/json": {"schema": {
                    "type": "object", "required": ["items"],
                    "properties": {"items": {"type": "array", "items": {
                        "type": "object", "required": ["id", "quantity"],
                        "properties": {"id": {}, "quantity": {}}}}}}}}},
                "responses": {"202": {}}
            }}},
            "components": {"schemas": {
                "Page": {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Thing"}}}},
                "Thing": {"type": "object", "required": ["id", "price"], "properties": {
                    "id": {}, "note": {}, "price": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Money"}]}}},
                "Money": {"allOf": [{"type": "object", "required": ["amount_minor"], "properties": {"amount_minor": {}}}]}
            }}
        })
    }

    fn reading(fields: &[&str]) -> Operation {
        Operation {
            operation: "GET /v1/things/{id}".to_owned(),
            used_in: "here".to_owned(),
            query: vec![],
            headers: vec![],
            body: vec![],
            responses: BTreeMap::from([(
                "200".to_owned(),
                fields.iter().map(|f| (*f).to_owned()).collect(),
            )]),
        }
    }

    #[test]
    fn fields_through_refs_arrays_one_of_and_all_of_are_found() {
        let broken = check_operation(
            &document(),
            &reading(&["items[].id", "items[].price.amount_minor", "items[].note?"]),
        );
        assert!(broken.is_empty(), "{broken:?}");
    }

    #[test]
    fn a_missing_field_an_optional_one_and_an_unknown_answer_are_each_named() {
        let mut operation = reading(&["items[].price.currency", "items[].note"]);
        operation.responses.insert("404".to_owned(), vec![]);
        let broken = check_operation(&document(), &operation);
        assert_eq!(broken.len(), 3, "{broken:#?}");
        assert!(
            broken[0].contains("no property `currency` under `items[].price`"),
            "{}",
            broken[0]
        );
        assert!(
            broken[1].contains("makes `note` under `items[]` optional"),
            "{}",
            broken[1]
        );
        assert!(broken[2].contains("404"), "{}", broken[2]);
    }

    #[test]
    fn a_request_must_send_what_the_provider_requires_and_only_what_it_takes() {
        let sends = |headers: &[&str], body: &[&str]| Operation {
            operation: "POST /v1/things/{id}".to_owned(),
            used_in: "here".to_owned(),
            query: vec![],
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            body: body.iter().map(|b| (*b).to_owned()).collect(),
            responses: BTreeMap::new(),
        };
        assert!(
            check_operation(
                &document(),
                &sends(&["idempotency-key"], &["items[].id", "items[].quantity"])
            )
            .is_empty()
        );
        let broken = check_operation(&document(), &sends(&[], &["items[].id", "items[].colour"]));
        assert_eq!(broken.len(), 3, "{broken:#?}");
        assert!(
            broken
                .iter()
                .any(|b| b.contains("header parameter `Idempotency-Key`"))
        );
        assert!(broken.iter().any(|b| b.contains("sends `items[].colour`")));
        assert!(
            broken
                .iter()
                .any(|b| b.contains("requires `items[].quantity`"))
        );
    }

    #[test]
    fn an_operation_the_provider_does_not_have_is_named() {
        let mut operation = reading(&[]);
        operation.operation = "DELETE /v1/things/{id}".to_owned();
        assert_eq!(
            check_operation(&document(), &operation),
            ["the contract has no `DELETE /v1/things/{id}`"]
        );
    }

    #[test]
    fn every_contract_file_in_the_workspace_parses_and_names_a_provider_that_exists() {
        let providers = ["users", "catalog", "orders", "recommendations"];
        let mut files = 0;
        for folder in ["services", "libs"] {
            for entry in std::fs::read_dir(workspace_root().join(folder))
                .unwrap()
                .flatten()
            {
                let Ok(contracts) = std::fs::read_dir(entry.path().join("contracts")) else {
                    continue;
                };
                for file in contracts.flatten() {
                    let name = file.file_name().to_string_lossy().into_owned();
                    let provider = name.strip_suffix(".json").unwrap_or(&name);
                    assert!(
                        providers.contains(&provider),
                        "{}: no provider `{provider}`",
                        file.path().display()
                    );
                    let text = std::fs::read_to_string(file.path()).unwrap();
                    let parsed: Result<Expectations, _> = serde_json::from_str(&text);
                    assert!(
                        parsed.is_ok(),
                        "{}: {:?}",
                        file.path().display(),
                        parsed.err()
                    );
                    files += 1;
                }
            }
        }
        assert!(files >= 8, "only {files} contract files found");
    }
}
