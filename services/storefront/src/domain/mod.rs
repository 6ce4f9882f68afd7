//! The shop as the storefront sees it: products, carts and orders from the other services.

pub mod home;
