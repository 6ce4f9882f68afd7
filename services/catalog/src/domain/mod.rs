//! The catalog service's rules, free of HTTP and SQL.

pub mod product;
pub mod stock;
