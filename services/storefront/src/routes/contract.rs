//! The storefront's `/api/…` contract is its owners' contract: each call is passed on to
//! one operation of one domain service (see `forward`), which answers it, so that
//! operation's parameters, body and answers are copied here from the owner's committed
//! `openapi.json` instead of being written twice (or as `{}`).
//!
//! The owners' files are read at build time: after a change to a domain service's
//! contract, `cargo xtask openapi` rewrites its file, and a second run rewrites the
//! storefront's.

use serde_json::{Map, Value};
use utoipa::openapi::OpenApi;

/// An owner's contract, as committed.
struct Owner {
    name: &'static str,
    document: &'static str,
}

const CATALOG: Owner = Owner {
    name: "catalog",
    document: include_str!("../../../catalog/openapi.json"),
};
const USERS: Owner = Owner {
    name: "users",
    document: include_str!("../../../users/openapi.json"),
};
const ORDERS: Owner = Owner {
    name: "orders",
    document: include_str!("../../../orders/openapi.json"),
};
const RECOMMENDATIONS: Owner = Owner {
    name: "recommendations",
    document: include_str!("../../../recommendations/openapi.json"),
};

/// (storefront path, method, owner, owner's path): what each `/api` operation forwards to.
const FORWARDED: [(&str, &str, &Owner, &str); 11] = [
    ("/api/categories", "get", &CATALOG, "/v1/categories"),
    ("/api/products", "get", &CATALOG, "/v1/products"),
    ("/api/products/{id}", "get", &CATALOG, "/v1/products/{id}"),
    ("/api/users", "post", &USERS, "/v1/users"),
    ("/api/sessions", "post", &USERS, "/v1/sessions"),
    ("/api/me", "get", &USERS, "/v1/users/me"),
    ("/api/orders", "get", &ORDERS, "/v1/orders"),
    ("/api/orders", "post", &ORDERS, "/v1/orders"),
    ("/api/orders/{id}", "get", &ORDERS, "/v1/orders/{id}"),
    (
        "/api/orders/{id}/cancel",
        "post",
        &ORDERS,
        "/v1/orders/{id}/cancel",
    ),
    (
        "/api/recommendations",
        "get",
        &RECOMMENDATIONS,
        "/v1/recommendations",
    ),
];

/// Why the owners' contracts could not be adopted.
#[derive(Debug, thiserror::Error)]
pub enum AdoptError {
    #[error("{0}'s openapi.json is not a readable OpenAPI document: {1}")]
    Unreadable(&'static str, serde_json::Error),
    #[error("{0} has no `{1} {2}`, which the storefront forwards to")]
    Missing(&'static str, &'static str, &'static str),
    #[error("the storefront's document: {0}")]
    Own(serde_json::Error),
}

/// `doc` with each forwarded operation's parameters, body, answers and security taken
/// from its owner, and the schemas they name. The storefront's own `503` (the owner is
/// unreachable) is kept beside the owner's.
pub fn adopt_owners(doc: &OpenApi) -> Result<OpenApi, AdoptError> {
    let mut own = serde_json::to_value(doc).map_err(AdoptError::Own)?;
    for (path, method, owner, owner_path) in FORWARDED {
        let owned: Value = serde_json::from_str(owner.document)
            .map_err(|error| AdoptError::Unreadable(owner.name, error))?;
        let operation = owned
            .pointer(&format!("/paths/{}/{method}", escape(owner_path)))
            .ok_or(AdoptError::Missing(owner.name, method, owner_path))?;
        if let Some(target) = own
            .pointer_mut(&format!("/paths/{}/{method}", escape(path)))
            .and_then(Value::as_object_mut)
        {
            adopt_operation(target, operation);
        }
        if let Some(schemas) = owned
            .pointer("/components/schemas")
            .and_then(Value::as_object)
        {
            let components = own
                .as_object_mut()
                .map(|doc| {
                    doc.entry("components")
                        .or_insert_with(|| Value::Object(Map::new()))
                })
                .and_then(Value::as_object_mut)
                .map(|c| {
                    c.entry("schemas")
                        .or_insert_with(|| Value::Object(Map::new()))
                })
                .and_then(Value::as_object_mut);
            if let Some(components) = components {
                for (name, schema) in schemas {
                    components.entry(name).or_insert_with(|| schema.clone());
                }
            }
        }
    }
    serde_json::from_value(own).map_err(AdoptError::Own)
}

fn adopt_operation(target: &mut Map<String, Value>, owned: &Value) {
    for key in ["parameters", "requestBody", "security"] {
        match owned.get(key) {
            Some(value) => {
                target.insert(key.to_owned(), value.clone());
            }
            None => {
                target.remove(key);
            }
        }
    }
    let own_unavailable = target.get("responses").and_then(|r| r.get("503")).cloned();
    let mut responses = owned.get("responses").cloned().unwrap_or_default();
    if let (Some(unavailable), Some(answers)) = (own_unavailable, responses.as_object_mut()) {
        // The owner's own 503 and the storefront's (the owner is unreachable) share a
        // status; the storefront's description covers both.
        answers.insert("503".to_owned(), unavailable);
    }
    target.insert("responses".to_owned(), responses);
}

/// A path as a JSON pointer token.
fn escape(path: &str) -> String {
    path.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_forwarded_operation_exists_at_its_owner() {
        let doc = adopt_owners(&crate::app::openapi()).expect("the owners' contracts adopt");
        let doc = serde_json::to_value(doc).expect("serializes");
        let body = doc
            .pointer("/paths/~1api~1orders/post/requestBody/content/application~1json/schema")
            .expect("the order body is described");
        assert_eq!(body["$ref"], "#/components/schemas/PlaceOrder");
        assert!(doc.pointer("/components/schemas/PlaceOrder").is_some());
        assert!(
            doc.pointer("/paths/~1api~1products/get/responses/4XX")
                .is_none(),
            "exact statuses, not a range"
        );
    }
}
