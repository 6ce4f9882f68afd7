//! What the users service tells the other services, on `users.events`.
//!
//! One event: [`UserRegistered`], when an account is created. It is written to the outbox in
//! the transaction that inserts the account (a registration that fails announces nothing),
//! and the [`OutboxRelay`] publishes it, keyed by the user id.

use crate::app::SERVICE;
use shop_events::event::UserRegistered;
use shop_events::{Envelope, EventsError, KafkaConfig, OutboxRelay};
use shop_server::Background;
use sqlx::PgPool;
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

/// Starts the outbox relay, stopped by the returned [`Background`]'s token.
pub fn start(pool: PgPool, kafka: &KafkaConfig) -> Result<Background, EventsError> {
    let background = Background::default();
    let relay = OutboxRelay::new(pool, kafka, SERVICE.name)?.spawn(background.shutdown.clone());
    Ok(Background {
        tasks: vec![relay],
        ..background
    })
}
