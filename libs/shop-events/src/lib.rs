//! The event backbone of Harbor Shop: how services tell each other what happened, over Kafka.
//!
//! - [`Envelope`] and [`Event`]: the versioned contract, one module ([`event`]) for every
//!   event type; JSON Schemas of it are committed in `docs/events/`.
//! - [`topics`]: `users.events`, `catalog.events`, `orders.events` and their dead-letter
//!   topics, created at start-up by [`topics::ensure`].
//! - [`outbox::enqueue`]: writes an event in the caller's transaction, together with the
//!   change it announces; [`OutboxRelay`] publishes it afterwards, in order, at least once.
//! - [`EventConsumer`]: runs a [`Handler`] once per event (duplicates are recognised),
//!   commits Kafka offsets only after the database, and dead-letters what cannot be
//!   processed.
//!
//! - [`Backbone`]: all of the above for one service, declared in its `app.rs` (the tables,
//!   the topics, the relay, the consumers, the broker's readiness check).
//!
//! The tables (`outbox`, `processed_events`) live in each service's own schema and come
//! from this crate's migrations, applied by [`migrate`].
//!
//! # Wiring a service, piece by piece
//!
//! What [`Backbone`] does for the services, spelled out:
//!
//! ```no_run
//! use shop_events::{Envelope, EventConsumer, Handler, HandlerError, KafkaConfig, OutboxRelay};
//! use shop_events::event::{Event, OrderPlaced};
//! use sqlx::PgConnection;
//! use tokio_util::sync::CancellationToken;
//!
//! /// The catalog reacts to orders.
//! struct OrderEvents;
//!
//! impl Handler for OrderEvents {
//!     async fn handle(&self, conn: &mut PgConnection, envelope: &Envelope) -> Result<(), HandlerError> {
//!         match &envelope.event {
//!             Event::OrderPlaced(order) => {
//!                 // Reserve stock through `conn`, then announce the decision in the same
//!                 // transaction: `shop_events::outbox::enqueue(conn, &decision).await`.
//!                 let _ = (conn, order);
//!                 Ok(())
//!             }
//!             _ => Ok(()), // not interesting to this service
//!         }
//!     }
//! }
//!
//! # async fn example(pool: sqlx::PgPool, order: OrderPlaced) -> anyhow::Result<()> {
//! let kafka = KafkaConfig::from_env(&shop_config::Env::from_process())?;
//!
//! // Start-up: the tables (after the service's own migrations), the topics, then the tasks.
//! shop_events::migrate(&pool).await?;
//! shop_events::topics::ensure(&kafka).await?;
//! let shutdown = CancellationToken::new();
//! let relay = OutboxRelay::new(pool.clone(), &kafka, "catalog")?.spawn(shutdown.clone());
//! let consumer = EventConsumer::new(&kafka, "catalog", &[shop_events::topics::ORDERS], pool.clone(), OrderEvents)?
//!     .spawn(shutdown.clone());
//!
//! // Producing: in the transaction that changes the state.
//! let mut tx = pool.begin().await?;
//! // ... INSERT/UPDATE the aggregate ...
//! shop_events::outbox::enqueue(&mut tx, &Envelope::new("orders", order)).await?;
//! tx.commit().await?;
//!
//! // Shutdown, after the HTTP server has drained: stop the tasks, then close the pool.
//! shutdown.cancel();
//! let _ = tokio::join!(relay, consumer);
//! pool.close().await;
//! # Ok(())
//! # }
//! ```

mod assignment;
mod backbone;
mod backoff;
mod closing;
mod config;
mod consumer;
mod envelope;
mod error;
pub mod event;
mod handler;
pub mod headers;
mod health;
pub mod json_schema;
mod kafka;
mod kafka_consumer;
pub mod outbox;
mod relay;
mod stall;
pub mod topics;

pub use assignment::Assignment;
pub use backbone::Backbone;
pub use closing::{DetachedConsumer, DetachedProducer};
pub use config::KafkaConfig;
pub use consumer::EventConsumer;
pub use envelope::Envelope;
pub use error::EventsError;
pub use event::Event;
pub use handler::{ConsumerSettings, Handler, HandlerError, stored_version};
pub use health::{CheckFuture, broker_check};
pub use relay::{OutboxRelay, RelaySettings};

/// The table where [`migrate`] records which of this crate's migrations it applied, apart
/// from the service's own `_sqlx_migrations`: two migrators sharing one table would each
/// take the other's versions for unknown ones and refuse to run.
pub const MIGRATIONS_TABLE: &str = "_shop_events_migrations";

/// Creates or updates the backbone's tables (`outbox`, `processed_events`) in the schema
/// first on `pool`'s search path: the service's own. Run it at start-up, after the
/// service's migrations; it is idempotent and safe for replicas starting together.
pub async fn migrate(pool: &sqlx::PgPool) -> Result<(), EventsError> {
    let mut migrator = sqlx::migrate!("./migrations");
    migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
    migrator.run(pool).await?;
    Ok(())
}
