//! A service's part of the event backbone, declared in one place.
//!
//! Every service that produces or consumes events starts the same way: the backbone's
//! tables in its schema, the topics (if the broker answers), an outbox relay, consumers, a
//! readiness check. [`Backbone`] is that sequence, so a service's `app.rs` only says what
//! it publishes and what it consumes:
//!
//! ```no_run
//! # use shop_events::{Backbone, Handler, HandlerError, Envelope, KafkaConfig, topics};
//! # struct OrderEvents;
//! # impl Handler for OrderEvents {
//! #     async fn handle(&self, _: &mut sqlx::PgConnection, _: &Envelope) -> Result<(), HandlerError> { Ok(()) }
//! # }
//! # async fn example(pool: sqlx::PgPool, kafka: KafkaConfig) -> anyhow::Result<()> {
//! let backbone = Backbone::connect(&pool, &kafka, "catalog")
//!     .await?
//!     .publishing()?
//!     .consuming(&[topics::ORDERS], OrderEvents)?;
//! let readiness = backbone.readiness()?; // the database and the broker
//! let background = backbone.into_background(); // the relay and the consumer, running
//! # let _ = (readiness, background);
//! # Ok(())
//! # }
//! ```
//!
//! A broker that is away at start-up does not stop the service: events wait in the outbox,
//! and the relay and consumers recreate missing topics whenever they find them gone
//! (`topics::may_be_missing`), at start-up or later (a new cluster, a wiped volume).

use crate::{
    Assignment, CheckFuture, EventConsumer, EventsError, Handler, KafkaConfig, OutboxRelay,
    broker_check, topics,
};
use shop_server::{Background, Readiness};
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A task of the backbone, made but not started.
type Task = Box<dyn FnOnce(CancellationToken) -> JoinHandle<()> + Send>;

/// What a service publishes and consumes; [`start`](Self::start) runs it.
pub struct Backbone {
    pool: PgPool,
    kafka: KafkaConfig,
    /// The name the service signs its events with, and its consumer group.
    source: &'static str,
    tasks: Vec<Task>,
    /// What each consumer holds, for the readiness check.
    assignments: Vec<Assignment>,
}

impl std::fmt::Debug for Backbone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backbone")
            .field("source", &self.source)
            .field("tasks", &self.tasks.len())
            .finish_non_exhaustive()
    }
}

impl Backbone {
    /// Creates or updates the backbone's tables in `pool`'s schema (run it after the
    /// service's own migrations) and creates the topics if the broker answers now.
    pub async fn connect(
        pool: &PgPool,
        kafka: &KafkaConfig,
        source: &'static str,
    ) -> Result<Self, EventsError> {
        crate::migrate(pool).await?;
        // Without a broker the service starts all the same; the relay and the consumers
        // create the topics when they find them missing.
        topics::ensure_or_warn(kafka).await;
        Ok(Self {
            pool: pool.clone(),
            kafka: kafka.clone(),
            source,
            tasks: Vec::new(),
            assignments: Vec::new(),
        })
    }

    /// Publishes the service's outbox (events enqueued with `outbox::enqueue`).
    pub fn publishing(mut self) -> Result<Self, EventsError> {
        let relay = OutboxRelay::new(self.pool.clone(), &self.kafka, self.source)?;
        self.tasks
            .push(Box::new(move |shutdown| relay.spawn(shutdown)));
        Ok(self)
    }

    /// Consumes `topics` (names of the contract, like [`topics::ORDERS`]) with `handler`,
    /// as consumer group `source`. The client is made now, so a bad setting fails start-up.
    pub fn consuming<H: Handler>(
        mut self,
        topics: &[&str],
        handler: H,
    ) -> Result<Self, EventsError> {
        let consumer =
            EventConsumer::new(&self.kafka, self.source, topics, self.pool.clone(), handler)?;
        self.assignments.push(consumer.assignment());
        self.tasks
            .push(Box::new(move |shutdown| consumer.spawn(shutdown)));
        Ok(self)
    }

    /// The broker's readiness check, non-critical in [`readiness`](Self::readiness): the
    /// outbox keeps the HTTP API working while the broker is away. It passes when the broker answers
    /// and every consumer holds partitions: a member without any (before the group's first
    /// assignment, during a rebalance, or one replica more than there are partitions)
    /// reads nothing, and says so.
    fn readiness_check(
        &self,
    ) -> Result<impl Fn() -> CheckFuture + Send + Sync + 'static, EventsError> {
        let broker = broker_check(&self.kafka)?;
        let assignments = self.assignments.clone();
        let group = self.kafka.group(self.source);
        Ok(move || -> CheckFuture {
            let answered = broker();
            let assignments = assignments.clone();
            let group = group.clone();
            Box::pin(async move {
                answered.await?;
                if assignments.iter().any(|held| held.partitions() == 0) {
                    return Err(format!(
                        "the broker answers, but consumer group `{group}` assigned this \
                         instance no partitions (yet): it reads no events"
                    ));
                }
                Ok(())
            })
        })
    }

    /// The readiness of a service on the backbone: its database (critical: nothing works
    /// without it) and the broker check (non-critical, see
    /// `readiness_check`). The service adds its own checks.
    pub fn readiness(&self) -> Result<Readiness, EventsError> {
        Ok(Readiness::default()
            .with_check("database", shop_db::readiness_check(self.pool.clone()))
            .with_noncritical_check("broker", self.readiness_check()?))
    }

    /// Starts the relay and the consumers as an application's background tasks: stopped by
    /// its shutdown, awaited before it exits. The service may push tasks of its own.
    pub fn into_background(self) -> Background {
        let mut background = Background::default();
        background.tasks = self.start(&background.shutdown);
        background
    }

    /// Starts the relay and the consumers, each stopped by `shutdown`.
    pub fn start(self, shutdown: &CancellationToken) -> Vec<JoinHandle<()>> {
        self.tasks
            .into_iter()
            .map(|task| task(shutdown.clone()))
            .collect()
    }
}
