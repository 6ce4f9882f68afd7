//! One product on a customer's list, and the note they keep with it.

use serde::{Deserialize, Serialize};
use shop_server::FieldError;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// The longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 200;

/// A product on the list, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Item {
    pub product_id: Uuid,
    /// The customer's own words; empty when they wrote none.
    #[schema(max_length = 200)]
    pub note: String,
    /// When the product was first put on the list (saving it again keeps this time).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub added_at: OffsetDateTime,
}

/// The body of `PUT /v1/{{name}}/{product_id}`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveItem {
    /// Up to 200 characters, no control characters; absent means empty.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub note: String,
}

/// A note that keeps the rules: at most [`MAX_NOTE_CHARS`] characters, none of them a
/// control character, surrounding white space trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note(String);

impl Note {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let note = raw.trim();
        if note.chars().count() > MAX_NOTE_CHARS {
            return Err(FieldError::new(
                "note",
                format!("at most {MAX_NOTE_CHARS} characters"),
            ));
        }
        if note.chars().any(char::is_control) {
            return Err(FieldError::new("note", "no control characters"));
        }
        Ok(Self(note.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_is_trimmed_and_bounded() {
        assert_eq!(Note::parse("  for the boat  ").unwrap().as_str(), "for the boat");
        assert_eq!(Note::parse("").unwrap().as_str(), "");
        let longest = "é".repeat(MAX_NOTE_CHARS);
        assert_eq!(Note::parse(&longest).unwrap().as_str(), longest, "characters, not bytes");
        assert_eq!(Note::parse(&format!("{longest}e")).unwrap_err().field, "note");
        assert_eq!(Note::parse("a\u{0}b").unwrap_err().field, "note");
    }
}
