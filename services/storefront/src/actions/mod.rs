//! The storefront's flows, one file each: what a visitor's form asks of the services.
//!
//! - [`checkout`]: the cart's order, placed with orders.
//! - [`account`]: an account registered, a session signed in, a session's token revoked,
//!   all with users.
//!
//! The storefront keeps no state of its own but the visitor's signed cookies, so an action
//! calls the services and returns what the page needs; `web/` turns that into cookies,
//! redirects and pages.

pub mod account;
pub mod checkout;
