//! JSON Schemas of the envelope and of each event's `data`, generated from the types.
//!
//! They are committed under `docs/events/` for people and for services in other languages;
//! `tests/schemas.rs` fails when they differ from the types (`UPDATE_SCHEMAS=1` rewrites them).

use crate::event::{
    OrderCancelled, OrderConfirmed, OrderPlaced, OrderRejected, ProductDeleted, ProductUpserted,
    StockRejected, StockReserved, UserRegistered,
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
