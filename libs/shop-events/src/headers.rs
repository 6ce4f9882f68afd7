//! The Kafka headers of the backbone, and trace context in and out of them.
//!
//! Every message carries the envelope's id and type (so that tools can route and count
//! without parsing the value) and the W3C trace context of the code that enqueued it.
//! Dead-lettered messages also carry why and where they came from.

use opentelemetry::propagation::Extractor;
use rdkafka::message::{BorrowedHeaders, Header, Headers, OwnedHeaders};

/// The envelope's `id`.
pub const EVENT_ID: &str = "event-id";
/// The envelope's `type`.
pub const EVENT_TYPE: &str = "event-type";
/// W3C trace context of the code that enqueued the event.
pub const TRACEPARENT: &str = "traceparent";
pub const TRACESTATE: &str = "tracestate";
/// On a dead-lettered message: why it could not be processed.
pub const ERROR: &str = "error";
/// On a dead-lettered message: where it was read.
pub const ORIGINAL_TOPIC: &str = "original-topic";
pub const ORIGINAL_PARTITION: &str = "original-partition";
pub const ORIGINAL_OFFSET: &str = "original-offset";

/// Reads trace context (or any header) from a received message's headers.
pub(crate) struct HeaderExtractor<'a>(pub Option<&'a BorrowedHeaders>);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0?
            .iter()
            .find(|header| header.key.eq_ignore_ascii_case(key))
            .and_then(|header| std::str::from_utf8(header.value?).ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0
            .map(|headers| headers.iter().map(|header| header.key).collect())
            .unwrap_or_default()
    }
}

/// Appends a text header.
pub(crate) fn with(headers: OwnedHeaders, key: &str, value: &str) -> OwnedHeaders {
    headers.insert(Header {
        key,
        value: Some(value),
    })
}

/// A copy of a received message's headers, to forward them.
pub(crate) fn copy(headers: Option<&BorrowedHeaders>) -> OwnedHeaders {
    match headers {
        Some(headers) => headers.detach(),
        None => OwnedHeaders::new(),
    }
}
