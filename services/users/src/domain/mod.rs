//! The users service's rules, free of HTTP and SQL.

pub mod account;
pub mod password;
pub mod throttle;
