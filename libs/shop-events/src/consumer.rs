//! Idempotent consumers: each event changes the service's state once, however often Kafka
//! delivers it.

use crate::assignment::Assignment;
use crate::backoff::{Backoff, sleep_unless_cancelled};
use crate::envelope::EnvelopeHead;
use crate::handler::{ConsumerSettings, Handler, HandlerError};
use crate::headers::{self, HeaderExtractor};
use crate::kafka_consumer::{ConsumerStats, group_consumer, subscribe, subscribed_consumer};
use crate::stall::StallWatch;
use crate::{DetachedConsumer, Envelope, Event, EventsError, KafkaConfig, kafka, topics};
use futures::FutureExt;
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::producer::FutureRecord;
use sqlx::PgPool;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Consumes topics as one consumer group, handing each event to a [`Handler`] exactly once.
///
/// For each message, in partition order:
/// 1. Parse the envelope. A message that is not one goes to `<topic>.dlq`; an event of a
///    type this build does not know yet is skipped (tolerant reader).
/// 2. In one transaction: record the event id in `processed_events` (already there: a
///    redelivery, skipped and counted), run the handler, commit.
/// 3. Only then commit the Kafka offset. A crash in between redelivers the message, and
///    step 2 recognises it.
///
/// A failing handler is retried with exponential backoff, then its message is dead-lettered
/// with the error in a header, and consumption goes on. The database being unreachable is
/// not the message's fault: that is retried until it works (or shutdown).
///
/// Each message is processed in a span that continues the producer's trace.
/// Metrics: `events_consumed_total{topic,type,outcome}` (outcome: `processed`, `duplicate`,
/// `dead_lettered`, `ignored`), `events_duplicate_total{topic}`, `events_dlq_total{topic}`,
/// `kafka_consumers_renewed_total{group}` (see [`StallWatch`]), and the
/// `consumer_lag{group,topic,partition}` gauge from librdkafka's statistics.
pub struct EventConsumer<H> {
    consumer: DetachedConsumer<ConsumerStats>,
    /// The broker's names of the subscribed topics, to subscribe again after recreating them.
    subscribed: Vec<String>,
    kafka: KafkaConfig,
    dead_letters: kafka::IdempotentProducer,
    pool: PgPool,
    handler: H,
    group_id: String,
    settings: ConsumerSettings,
    assignment: Assignment,
}

impl<H> std::fmt::Debug for EventConsumer<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventConsumer")
            .field("group_id", &self.group_id)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// What became of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Processed,
    Duplicate,
    DeadLettered,
    Ignored,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Processed => "processed",
            Self::Duplicate => "duplicate",
            Self::DeadLettered => "dead_lettered",
            Self::Ignored => "ignored",
        }
    }
}

/// Shutdown came before the work was done: the message keeps its offset uncommitted and
/// is delivered again next time.
#[derive(Debug, Clone, Copy)]
struct ShutDown;

/// What one try of the handler's transaction did.
enum Attempt {
    Processed,
    Duplicate,
    Failed(HandlerError),
}

impl<H: Handler> EventConsumer<H> {
    /// A consumer in group `group_id` (the service's name, or one per purpose) of `topics`
    /// (names of the contract, like [`topics::ORDERS`]), recording processed events through
    /// `pool` (the service's schema). A new group starts at the earliest events.
    pub fn new(
        kafka: &KafkaConfig,
        group_id: &str,
        topics: &[&str],
        pool: PgPool,
        handler: H,
    ) -> Result<Self, EventsError> {
        // Prefixed like the topics, so tests sharing a broker never share a group.
        let group_id = &kafka.group(group_id);
        let subscribed: Vec<String> = topics.iter().map(|topic| kafka.topic(topic)).collect();
        let assignment = Assignment::default();
        Ok(Self {
            consumer: subscribed_consumer(kafka, group_id, &subscribed, &assignment)?,
            subscribed,
            kafka: kafka.clone(),
            dead_letters: kafka::IdempotentProducer::new(kafka, &format!("{group_id}-dlq"))?,
            pool,
            handler,
            group_id: group_id.to_owned(),
            settings: ConsumerSettings::default(),
            assignment,
        })
    }

    /// The partitions this consumer holds now (none until the group has assigned them).
    pub fn assignment(&self) -> Assignment {
        self.assignment.clone()
    }

    pub fn with_settings(mut self, settings: ConsumerSettings) -> Self {
        self.settings = settings;
        self
    }

    /// Runs [`run`](Self::run) on a task of its own.
    pub fn spawn(self, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
        tokio::spawn(self.run(shutdown))
    }

    /// Consumes until `shutdown` is cancelled. A message interrupted by shutdown keeps its
    /// offset uncommitted and is delivered again next time.
    pub async fn run(mut self, shutdown: CancellationToken) {
        tracing::info!(group = %self.group_id, "event consumer started");
        let mut last_prune: Option<Instant> = None;
        let mut backoff = Backoff::new(RECEIVE_RETRY, self.settings.max_backoff);
        let mut stall_watch = StallWatch::default();
        let mut stall_checks = tokio::time::interval(STALL_CHECK);
        stall_checks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        stall_checks.reset(); // the first check after one interval, not at once
        loop {
            let received = tokio::select! {
                () = shutdown.cancelled() => break,
                _ = stall_checks.tick() => None,
                received = self.consumer.recv() => Some(received),
            };
            let Some(received) = received else {
                if stall_watch
                    .is_stuck(&self.kafka, &self.group_id, &self.subscribed)
                    .await
                {
                    self.renew_client(&shutdown).await;
                }
                continue;
            };
            let message = match received {
                Ok(message) => {
                    backoff.reset();
                    stall_watch.received();
                    message
                }
                Err(error) => {
                    let pause = backoff.next_delay();
                    tracing::warn!(%error, group = %self.group_id, retry_in = ?pause, "cannot consume");
                    // A broker that lost everything (a new cluster, a wiped volume) has no
                    // topics: make them again, and subscribe again so that librdkafka looks
                    // them up now rather than at its next metadata refresh.
                    if topics::may_be_missing(&error) {
                        let recreated = tokio::select! {
                            () = shutdown.cancelled() => break,
                            created = topics::ensure_or_warn(&self.kafka) => created,
                        };
                        if recreated {
                            self.resubscribe();
                        }
                    }
                    if sleep_unless_cancelled(&shutdown, pause).await {
                        continue;
                    }
                    break;
                }
            };
            let Ok((outcome, event_type)) = self.process(&message, &shutdown).await else {
                break;
            };
            metrics::counter!(
                "events_consumed_total",
                "topic" => message.topic().to_owned(),
                "type" => event_type,
                "outcome" => outcome.as_str(),
            )
            .increment(1);
            // The database has the effects: now Kafka may forget the message. Should this
            // commit be lost, the redelivery is recognised as a duplicate.
            if let Err(error) = self.consumer.commit_message(&message, CommitMode::Async) {
                tracing::warn!(%error, "cannot commit the consumer offset");
            }
            // Only a consumer that receives events adds ids: prune as it goes.
            if last_prune.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
                last_prune = Some(Instant::now());
                self.prune().await;
            }
        }
        // Leaving the group tells the broker to hand our partitions to another replica
        // now rather than after the session timeout; but a shutdown must not hang on it.
        let Self {
            consumer, group_id, ..
        } = self;
        if consumer.close(CLOSE_PATIENCE).await {
            tracing::info!(group = %group_id, "event consumer stopped");
        } else {
            tracing::warn!(
                group = %group_id,
                patience = ?CLOSE_PATIENCE,
                "event consumer stopped without leaving its group in time"
            );
        }
    }

    /// Replaces the Kafka client with a new one in the same group (see [`StallWatch`]).
    ///
    /// The old client leaves the group (waiting at most [`CLOSE_PATIENCE`]) before the new
    /// one asks to join it. The other way round, the new member's join starts a rebalance,
    /// and tansu 0.6 keeps a leader that leaves during a rebalance as the group's leader
    /// (`Inner<Forming>::leave` does not clear it): every member's SyncGroup is then refused
    /// with `REBALANCE_IN_PROGRESS`, for good.
    async fn renew_client(&mut self, shutdown: &CancellationToken) {
        let fresh = match group_consumer(&self.kafka, &self.group_id, &self.assignment) {
            Ok(fresh) => fresh,
            Err(error) => {
                tracing::error!(%error, group = %self.group_id, "cannot make a new Kafka consumer");
                return;
            }
        };
        let old = std::mem::replace(&mut self.consumer, fresh);
        tokio::select! {
            () = shutdown.cancelled() => return,
            left = old.close(CLOSE_PATIENCE) => if !left {
                tracing::warn!(group = %self.group_id, "the replaced Kafka consumer did not leave its group in time");
            },
        }
        if let Err(error) = subscribe(&self.consumer, &self.subscribed, &self.assignment) {
            // Not in the group: the next stall check makes another client.
            tracing::error!(%error, group = %self.group_id, "cannot subscribe a new Kafka consumer");
            return;
        }
        metrics::counter!("kafka_consumers_renewed_total", "group" => self.group_id.clone())
            .increment(1);
        tracing::warn!(group = %self.group_id, "made a new Kafka consumer");
    }

    fn resubscribe(&self) {
        let names: Vec<&str> = self.subscribed.iter().map(String::as_str).collect();
        match self.consumer.subscribe(&names) {
            Ok(()) => tracing::info!(group = %self.group_id, topics = ?names, "subscribed again"),
            Err(error) => tracing::warn!(%error, group = %self.group_id, "cannot subscribe again"),
        }
    }

    /// Processes one message in a span continuing the producer's trace: the outcome and the
    /// event type for metrics, unless shutdown interrupted it.
    async fn process(
        &self,
        message: &BorrowedMessage<'_>,
        shutdown: &CancellationToken,
    ) -> Result<(Outcome, String), ShutDown> {
        let topic = message.topic();
        let key = message
            .key()
            .map(|key| String::from_utf8_lossy(key).into_owned())
            .unwrap_or_default();
        let span = tracing::info_span!(
            "process",
            otel.name = %format!("process {topic}"),
            otel.kind = "consumer",
            messaging.system = "kafka",
            messaging.operation = "process",
            messaging.destination.name = %topic,
            messaging.consumer.group.name = %self.group_id,
            messaging.kafka.message.key = %key,
            messaging.destination.partition.id = message.partition(),
            messaging.kafka.offset = message.offset(),
            messaging.message.id = tracing::field::Empty,
            "event.type" = tracing::field::Empty,
            outcome = tracing::field::Empty,
        );
        let parent = shop_telemetry::propagation::extract(&HeaderExtractor(message.headers()));
        // Fails only without an OpenTelemetry layer, where there is no trace to continue.
        let _ = span.set_parent(parent);
        async {
            let (outcome, event_type) = self.process_in_span(message, shutdown).await?;
            tracing::Span::current().record("outcome", outcome.as_str());
            tracing::debug!(outcome = outcome.as_str(), "event consumed");
            Ok((outcome, event_type))
        }
        .instrument(span)
        .await
    }

    async fn process_in_span(
        &self,
        message: &BorrowedMessage<'_>,
        shutdown: &CancellationToken,
    ) -> Result<(Outcome, String), ShutDown> {
        let payload = message.payload().unwrap_or_default();
        let envelope = match Envelope::from_json(payload) {
            Ok(envelope) => envelope,
            Err(error) => {
                let head = serde_json::from_slice::<EnvelopeHead>(payload).ok();
                if let Some(head) = head.filter(|head| !Event::is_known_type(&head.event_type)) {
                    // A newer producer's event type: nothing here can want it.
                    tracing::debug!(event.id = %head.id, "event.type" = %head.event_type, "skipping an unknown event type");
                    return Ok((Outcome::Ignored, head.event_type));
                }
                tracing::error!(%error, "not an event envelope: dead-lettering the message");
                self.dead_letter(
                    message,
                    &format!("not an event envelope: {error}"),
                    shutdown,
                )
                .await?;
                return Ok((Outcome::DeadLettered, "unreadable".to_owned()));
            }
        };
        let span = tracing::Span::current();
        span.record("messaging.message.id", envelope.id.to_string());
        span.record("event.type", envelope.event_type());
        let event_type = envelope.event_type().to_owned();

        let mut retry_backoff =
            Backoff::new(self.settings.retry_backoff, self.settings.max_backoff);
        let mut retries = 0;
        loop {
            let error = match self.attempt(&envelope, shutdown).await? {
                Attempt::Processed => return Ok((Outcome::Processed, event_type)),
                Attempt::Duplicate => {
                    tracing::info!(event.id = %envelope.id, "skipping an event processed before");
                    metrics::counter!("events_duplicate_total", "topic" => message.topic().to_owned())
                        .increment(1);
                    return Ok((Outcome::Duplicate, event_type));
                }
                Attempt::Failed(error) => error,
            };
            let permanent = matches!(error, HandlerError::Permanent(_));
            if permanent || retries >= self.settings.max_retries {
                tracing::error!(%error, retries, permanent, "handler failed: dead-lettering the event");
                self.dead_letter(message, &error.to_string(), shutdown)
                    .await?;
                return Ok((Outcome::DeadLettered, event_type));
            }
            retries += 1;
            let pause = retry_backoff.next_delay();
            tracing::warn!(%error, retry = retries, retry_in = ?pause, "handler failed, retrying");
            if !sleep_unless_cancelled(shutdown, pause).await {
                return Err(ShutDown);
            }
        }
    }

    /// One try of the handler's transaction, repeated for as long as the database cannot be
    /// reached, unless shutdown comes first.
    async fn attempt(
        &self,
        envelope: &Envelope,
        shutdown: &CancellationToken,
    ) -> Result<Attempt, ShutDown> {
        let mut backoff = Backoff::new(self.settings.retry_backoff, self.settings.max_backoff);
        loop {
            match self.try_attempt(envelope).await {
                Ok(attempt) => return Ok(attempt),
                Err(error) => {
                    let pause = backoff.next_delay();
                    tracing::warn!(%error, retry_in = ?pause, "cannot record the event, retrying");
                    if !sleep_unless_cancelled(shutdown, pause).await {
                        return Err(ShutDown);
                    }
                }
            }
        }
    }

    async fn try_attempt(&self, envelope: &Envelope) -> Result<Attempt, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let first_time = sqlx::query(
            "INSERT INTO processed_events (consumer_group, event_id) VALUES ($1, $2)
             ON CONFLICT DO NOTHING",
        )
        .bind(&self.group_id)
        .bind(envelope.id)
        .execute(&mut *tx)
        .instrument(shop_db::query_span("INSERT", "processed_events"))
        .await?
        .rows_affected()
            == 1;
        if !first_time {
            tx.rollback().await?;
            return Ok(Attempt::Duplicate);
        }
        // A panicking handler must not take the consumer down with it: its message is
        // dead-lettered like any other that cannot be processed.
        let handled = AssertUnwindSafe(self.handler.handle(&mut tx, envelope))
            .catch_unwind()
            .await
            .unwrap_or_else(|panic| Err(HandlerError::permanent(panic_message(&*panic))));
        match handled {
            Ok(()) => {
                tx.commit().await?;
                Ok(Attempt::Processed)
            }
            Err(error) => {
                tx.rollback().await?;
                Ok(Attempt::Failed(error))
            }
        }
    }

    /// Forgets this group's processed event ids older than `keep_processed`.
    async fn prune(&self) {
        let deleted = sqlx::query(
            "DELETE FROM processed_events
             WHERE consumer_group = $1 AND processed_at < now() - make_interval(secs => $2)",
        )
        .bind(&self.group_id)
        .bind(self.settings.keep_processed.as_secs_f64())
        .execute(&self.pool)
        .await;
        match deleted {
            Ok(done) if done.rows_affected() > 0 => {
                tracing::debug!(rows = done.rows_affected(), "pruned processed event ids");
            }
            Ok(_) => {}
            Err(error) => tracing::debug!(%error, "cannot prune processed event ids"),
        }
    }

    /// Publishes the message unchanged to `<topic>.dlq`, with why and where from in
    /// headers; retried until it works, unless shutdown comes first.
    async fn dead_letter(
        &self,
        message: &BorrowedMessage<'_>,
        error: &str,
        shutdown: &CancellationToken,
    ) -> Result<(), ShutDown> {
        let dlq = topics::dlq(message.topic());
        let mut backoff = Backoff::new(self.settings.retry_backoff, self.settings.max_backoff);
        loop {
            let mut dlq_headers = headers::copy(message.headers());
            for (key, value) in [
                (headers::ERROR, error.to_owned()),
                (headers::ORIGINAL_TOPIC, message.topic().to_owned()),
                (headers::ORIGINAL_PARTITION, message.partition().to_string()),
                (headers::ORIGINAL_OFFSET, message.offset().to_string()),
            ] {
                dlq_headers = headers::with(dlq_headers, key, &value);
            }
            let mut record = FutureRecord::<[u8], [u8]>::to(&dlq).headers(dlq_headers);
            if let Some(key) = message.key() {
                record = record.key(key);
            }
            if let Some(payload) = message.payload() {
                record = record.payload(payload);
            }
            match self.dead_letters.get().send(record, Duration::ZERO).await {
                Ok(_) => {
                    metrics::counter!("events_dlq_total", "topic" => message.topic().to_owned())
                        .increment(1);
                    return Ok(());
                }
                Err((error, _)) => {
                    self.dead_letters.renew_if_broken(&error);
                    let pause = backoff.next_delay();
                    tracing::warn!(%error, topic = %dlq, retry_in = ?pause, "cannot dead-letter, retrying");
                    if topics::may_be_missing(&error) {
                        tokio::select! {
                            () = shutdown.cancelled() => return Err(ShutDown),
                            _created = topics::ensure_or_warn(&self.kafka) => {}
                        }
                    }
                    if !sleep_unless_cancelled(shutdown, pause).await {
                        return Err(ShutDown);
                    }
                }
            }
        }
    }
}

/// How often an idle consumer checks that it is not stuck (see [`StallWatch`]): a stuck
/// one is renewed within two to three of these.
const STALL_CHECK: Duration = Duration::from_secs(5);

/// The first pause after a failed receive; it doubles up to `max_backoff`.
const RECEIVE_RETRY: Duration = Duration::from_secs(1);

/// How often processed event ids are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(600);

/// How long a stopping consumer waits to leave its group: well inside the shutdown grace
/// period of an orchestrator (30 s by default in Kubernetes).
const CLOSE_PATIENCE: Duration = Duration::from_secs(5);

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    let detail = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    format!("the handler panicked: {detail}")
}
