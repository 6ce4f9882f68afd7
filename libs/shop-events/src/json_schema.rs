//! JSON Schemas of the envelope and of each event's `data`, generated from the types.
//!
//! They are committed under `docs/events/` for people and for services in other languages;
//! `tests/schemas.rs` fails when they differ from the types (`UPDATE_SCHEMAS=1` rewrites them).

use crate::event::{
    OrderCancelled, OrderConfirmed, OrderPlaced, OrderRejected, ProductDeleted, ProductUpserted,
    StockRejected, StockReleased, StockReserved, UserRegistered,
};
use crate::{Envelope, Event};
use schemars::{JsonSchema, Schema, schema_for};

/// Every schema with its file name: `envelope.schema.json`, then `<Type>.schema.json` for
/// the `data` of each event type.
pub fn all() -> Vec<(String, Schema)> {
    let mut schemas = vec![("envelope.schema.json".to_owned(), schema_for!(Envelope))];
    schemas.extend([
        data::<UserRegistered>(),
        data::<ProductUpserted>(),
        data::<ProductDeleted>(),
        data::<StockReserved>(),
        data::<StockRejected>(),
        data::<StockReleased>(),
        data::<OrderPlaced>(),
        data::<OrderConfirmed>(),
        data::<OrderRejected>(),
        data::<OrderCancelled>(),
    ]);
    debug_assert_eq!(schemas.len(), 1 + Event::TYPES.len());
    schemas
}

fn data<T: JsonSchema>() -> (String, Schema) {
    (format!("{}.schema.json", T::schema_name()), schema_for!(T))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    /// `docs/events/` at the workspace root.
    fn docs_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/events")
    }

    #[test]
    fn committed_schemas_match_the_types() {
        let update = std::env::var_os("UPDATE_SCHEMAS").is_some();
        let mut stale = Vec::new();
        for (file, schema) in super::all() {
            let path = docs_dir().join(&file);
            let generated = serde_json::to_string_pretty(&schema).unwrap() + "\n";
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            if committed == generated {
                continue;
            }
            if update {
                std::fs::write(&path, generated).unwrap();
            } else {
                stale.push(file);
            }
        }
        assert!(
            stale.is_empty(),
            "the JSON Schemas in docs/events/ differ from the event types: {stale:?}\n\
             If the change is intended (and compatible, see docs/events/README.md), rewrite \
             them with `UPDATE_SCHEMAS=1 cargo test -p shop-events` and commit them."
        );
    }

    #[test]
    fn every_event_type_has_a_schema_named_after_it() {
        let files: Vec<String> = super::all().into_iter().map(|(file, _)| file).collect();
        for event_type in crate::Event::TYPES {
            assert!(
                files.contains(&format!("{event_type}.schema.json")),
                "{event_type}"
            );
        }
    }
}
