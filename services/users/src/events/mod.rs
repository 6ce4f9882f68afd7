//! What the users service tells the other services, on `users.events`.
//!
//! One event: [`UserRegistered`], when an account is created. It is written to the outbox in
//! the transaction that inserts the account (a registration that fails announces nothing),
//! and the outbox relay (`app::build` declares it on a `shop_events::Backbone`) publishes
//! it, keyed by the user id.

use crate::app::SERVICE;
use shop_events::Envelope;
use shop_events::event::UserRegistered;
use uuid::Uuid;

/// The event announcing a new account.
pub fn user_registered(user_id: Uuid, email: &str, name: &str) -> Envelope {
    Envelope::new(
        SERVICE.name,
        UserRegistered {
            user_id,
            email: email.to_owned(),
            name: name.to_owned(),
        },
    )
}
