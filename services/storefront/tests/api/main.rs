//! Integration tests: the storefront on a random port.

mod standard;
