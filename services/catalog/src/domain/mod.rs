//! The catalog service's rules, free of HTTP and SQL.

pub mod product;
pub mod stock;

/// A request field that breaks a rule: its path (`items[0].quantity`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidField {
    pub field: String,
    pub message: String,
}

impl InvalidField {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}
