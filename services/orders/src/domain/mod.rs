//! The orders service's rules, free of HTTP and SQL.

pub mod order;
pub mod placing;
