//! The catalog service's rules, free of HTTP and SQL.
