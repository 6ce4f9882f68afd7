//! The catalog's side of the event backbone (`shop_events`).
//!
//! **Emits** on `catalog.events`, each event through the outbox in the transaction of the
//! change it announces (never an event without its change, nor a change without its event):
//!
//! - `ProductUpserted`, keyed by product id, with the product's whole current state: when an
//!   admin creates or replaces a product, when the seed inserts one, and when a reservation
//!   or a release changes its stock.
//! - `ProductDeleted`, keyed by product id: when an admin deletes a product.
//! - `StockReserved`, keyed by order id: an `OrderPlaced` got stock for every line.
//! - `StockRejected`, keyed by order id: an `OrderPlaced` did not (products short of stock
//!   or unknown), and nothing was taken.
//!
//! **Consumes** `orders.events`, as consumer group `catalog`: `OrderPlaced` reserves stock,
//! `OrderCancelled` releases it (see [`OrderEvents`]).

mod orders;
mod products;

pub use orders::OrderEvents;
pub use products::{announce_deleted, announce_upserted};

use shop_events::{EventConsumer, EventsError, KafkaConfig, OutboxRelay, topics};
use shop_server::Background;
use sqlx::PgPool;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The name the catalog signs its events with, and its consumer group.
pub const SOURCE: &str = "catalog";

/// How long to wait before trying again to create the topics.
const TOPICS_RETRY: Duration = Duration::from_secs(5);

/// Starts the outbox relay and the consumer of `orders.events`, both stopped by the returned
/// [`Background`]'s token. When the topics could not be created at start-up
/// (`topics_ready` false), the consumer creates them first, retrying until the broker answers.
pub fn start(
    pool: &PgPool,
    kafka: &KafkaConfig,
    topics_ready: bool,
) -> Result<Background, EventsError> {
    let shutdown = CancellationToken::new();
    let relay = OutboxRelay::new(pool.clone(), kafka, SOURCE)?.spawn(shutdown.clone());
    let consumer = tokio::spawn(consume_orders(
        pool.clone(),
        kafka.clone(),
        topics_ready,
        shutdown.clone(),
    ));
    Ok(Background {
        shutdown,
        tasks: vec![relay, consumer],
    })
}

/// Runs the consumer of `orders.events` until `shutdown`.
///
/// It subscribes only once the topics exist: a consumer subscribed to a missing topic might
/// notice its creation only at its next metadata refresh, minutes later.
async fn consume_orders(
    pool: PgPool,
    kafka: KafkaConfig,
    mut topics_ready: bool,
    shutdown: CancellationToken,
) {
    while !topics_ready {
        let retry = async {
            tokio::time::sleep(TOPICS_RETRY).await;
            shop_events::topics::ensure_or_warn(&kafka).await
        };
        topics_ready = tokio::select! {
            () = shutdown.cancelled() => return,
            created = retry => created,
        };
    }
    match EventConsumer::new(&kafka, SOURCE, &[topics::ORDERS], pool, OrderEvents) {
        Ok(consumer) => consumer.run(shutdown).await,
        Err(error) => tracing::error!(%error, "cannot start the consumer of orders' events"),
    }
}
