//! The envelope every event travels in, whatever its type (modelled on CloudEvents).

use crate::Event;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// An event with the facts every consumer needs to route, deduplicate and order it.
///
/// On the wire (the Kafka message value, and the outbox's `payload`):
///
/// ```json
/// {"id": "0193…", "source": "orders", "time": "2026-11-27T10:00:00Z",
///  "subject": "0193…", "schema_version": 1,
///  "type": "OrderPlaced", "data": {"order_id": "0193…", …}}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Envelope {
    /// Unique per event, and kept when the event is delivered again: consumers deduplicate
    /// on it. A UUID v7, so ids sort by creation time.
    pub id: Uuid,
    /// The service that emitted the event, e.g. `orders`.
    pub source: String,
    /// When the event happened (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub time: OffsetDateTime,
    /// The id of the aggregate the event is about; also the Kafka message key.
    pub subject: String,
    /// The version of the `data` schema of this `type`.
    pub schema_version: u32,
    /// `type` (e.g. `"OrderPlaced"`) and `data` (its payload), side by side in the JSON.
    #[serde(flatten)]
    pub event: Event,
}

impl Envelope {
    /// A new event from `source` (the emitting service's name), happening now.
    pub fn new(source: impl Into<String>, event: impl Into<Event>) -> Self {
        let event = event.into();
        Self {
            id: Uuid::now_v7(),
            source: source.into(),
            time: OffsetDateTime::now_utc(),
            subject: event.key().to_string(),
            schema_version: event.schema_version(),
            event,
        }
    }

    /// The envelope's `type`, e.g. `"OrderPlaced"`.
    pub fn event_type(&self) -> &'static str {
        self.event.type_name()
    }

    /// The topic this event is published to.
    pub fn topic(&self) -> &'static str {
        self.event.topic()
    }

    /// The Kafka message key: the aggregate id.
    pub fn key(&self) -> String {
        self.event.key().to_string()
    }

    /// The JSON the event travels as.
    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }

    /// Reads an envelope from a message value.
    pub fn from_json(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

/// The part of an envelope that can be read whatever its `type`: lets a consumer tell an
/// event type it does not know yet (skipped) from a message that is broken (dead-lettered).
#[derive(Debug, Deserialize)]
pub(crate) struct EnvelopeHead {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub event_type: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Money, OrderPlaced, PricedItem, UserRegistered};

    fn order_placed() -> Envelope {
        Envelope::new(
            "orders",
            OrderPlaced {
                order_id: Uuid::now_v7(),
                user_id: Uuid::now_v7(),
                items: vec![PricedItem {
                    product_id: Uuid::now_v7(),
                    quantity: 2,
                    unit_price_minor: 1299,
                }],
                total: Money {
                    amount_minor: 2598,
                    currency: "EUR".into(),
                },
            },
        )
    }

    #[test]
    fn round_trips_with_type_and_data_side_by_side() {
        let envelope = order_placed();
        let json: serde_json::Value = serde_json::to_value(&envelope).unwrap();
        assert_eq!(json["type"], "OrderPlaced");
        assert_eq!(json["data"]["items"][0]["quantity"], 2);
        assert_eq!(json["subject"], json["data"]["order_id"]);
        assert_eq!(json["schema_version"], 1);
        assert!(json["time"].as_str().unwrap().ends_with('Z'), "{json}");
        let back = Envelope::from_json(&envelope.to_json().unwrap()).unwrap();
        assert_eq!(back, envelope);
        assert_eq!(back.event_type(), "OrderPlaced");
        assert_eq!(back.topic(), "orders.events");
        assert_eq!(back.key(), envelope.subject);
    }

    #[test]
    fn readers_tolerate_fields_they_do_not_know() {
        let mut json = serde_json::to_value(order_placed()).unwrap();
        json["added_later"] = "x".into();
        json["data"]["coupon"] = "SPRING".into();
        json["data"]["total"]["tax_minor"] = 10.into();
        let parsed: Envelope = serde_json::from_value(json).unwrap();
        assert_eq!(parsed.event_type(), "OrderPlaced");
    }

    #[test]
    fn unknown_types_are_recognised_as_such() {
        let mut json = serde_json::to_value(Envelope::new(
            "users",
            UserRegistered {
                user_id: Uuid::now_v7(),
                email: "a@example.com".into(),
                name: "A".into(),
            },
        ))
        .unwrap();
        json["type"] = "UserRenamed".into();
        assert!(serde_json::from_value::<Envelope>(json.clone()).is_err());
        let head: EnvelopeHead = serde_json::from_value(json).unwrap();
        assert_eq!(head.event_type, "UserRenamed");
        assert!(!Event::is_known_type(&head.event_type));
    }
}
