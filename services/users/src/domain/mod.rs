//! The users service's rules, free of HTTP and SQL.

pub mod account;
pub mod password;
pub mod throttle;

/// A field of a request that breaks a rule, and which rule.
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
