//! The users service's rules, free of HTTP and SQL.
