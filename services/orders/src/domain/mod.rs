//! The orders service's rules, free of HTTP and SQL.
