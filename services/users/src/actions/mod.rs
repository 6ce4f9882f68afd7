//! The users service's state changes, one file each: the one home of every business flow.
//!
//! An action makes one change from start to finish: it asks `domain` what to do, reads
//! and writes through `db` in its transaction, enqueues the announcing event (the outbox)
//! and commits. `routes` only translate HTTP into action calls.
//!
//! - [`register`]: a new customer account, announced as `UserRegistered`.
//! - [`sign_in`]: a password exchanged for an access token, within the throttling limits.
//! - [`sign_out`]: a token revoked.

pub mod register;
pub mod sign_in;
pub mod sign_out;
