//! The recommendations service's rules, free of HTTP and SQL.
