//! The recommendations service's flows, one file each.
//!
//! - [`recommend`]: answering a request, tier by tier, degrading to the static list.
//! - [`learn`]: the signals learnt from the shop's events (purchases, products).
//!
//! `routes` and `events` only translate HTTP and events into calls to these.

pub mod learn;
pub mod recommend;
