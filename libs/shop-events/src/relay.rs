//! The outbox relay: publishes what services wrote to their outbox, in order, at least once.

use crate::backoff::{Backoff, sleep_unless_cancelled};
use crate::{EventsError, KafkaConfig, headers, kafka, outbox, topics};
use rdkafka::error::KafkaError;
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::FutureRecord;
use rdkafka::types::RDKafkaErrorCode;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use sqlx::types::Json;
use std::collections::BTreeSet;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// How the relay paces itself. The defaults suit the shop.
#[derive(Debug, Clone)]
pub struct RelaySettings {
    /// Rows published per round trip.
    pub batch_size: i64,
    /// How often an idle relay looks for new rows when no notification woke it.
    pub poll_interval: Duration,
    /// The longest pause between retries while the broker or the database is failing.
    pub max_backoff: Duration,
    /// Published rows are deleted after this long (they only help to investigate).
    pub keep_sent: Duration,
}

impl Default for RelaySettings {
    fn default() -> Self {
        Self {
            batch_size: 100,
            poll_interval: Duration::from_millis(150),
            max_backoff: Duration::from_secs(10),
            keep_sent: Duration::from_secs(24 * 60 * 60),
        }
    }
}

/// Publishes the outbox of the service's schema to Kafka.
///
/// - **In order:** rows go out by `created_at, id`, each keyed by its aggregate id, through
///   an idempotent producer; only one relay per schema publishes at a time (a transaction
///   advisory lock), so replicas of a service never interleave their batches. One edge
///   remains: if only part of a batch fails (some messages time out, later ones of the same
///   aggregate get through), the failed ones arrive late. Consumers whose rules depend on
///   order check the aggregate's state, as the saga's handlers do.
/// - **At least once:** a row is marked sent only after the broker acknowledged it. A crash
///   between publishing and marking publishes it again, which consumers absorb (they
///   deduplicate on the envelope id). While the broker is unreachable rows simply wait, and
///   the relay retries forever with a capped exponential backoff.
///
/// - **Promptly:** [`outbox::enqueue`] notifies the relay when its transaction commits
///   (LISTEN/NOTIFY, on one connection of the pool held for it); polling every
///   `poll_interval` is the safety net.
///
/// Metrics: `outbox_pending`, `outbox_lag_seconds` (age of the oldest unsent row) and
/// `outbox_failed` (rows set aside) gauges,
/// `outbox_published_total` counter.
pub struct OutboxRelay {
    pool: PgPool,
    kafka: KafkaConfig,
    producer: kafka::IdempotentProducer,
    settings: RelaySettings,
    /// The highest offset the broker acknowledged, per (topic, partition), in this process.
    acked: Mutex<HashMap<(String, i32), i64>>,
}

impl std::fmt::Debug for OutboxRelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxRelay")
            .field("brokers", &self.kafka.brokers)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// One row to publish.
#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    topic: String,
    key: String,
    payload: Json<serde_json::Value>,
    headers: Json<HashMap<String, String>>,
}

impl OutboxRelay {
    /// A relay for the outbox that `pool`'s connections see; `client_id` names the producer
    /// in the broker's logs (the service's name).
    pub fn new(pool: PgPool, kafka: &KafkaConfig, client_id: &str) -> Result<Self, EventsError> {
        Ok(Self {
            pool,
            kafka: kafka.clone(),
            producer: kafka::IdempotentProducer::new(kafka, client_id)?,
            settings: RelaySettings::default(),
            acked: Mutex::new(HashMap::new()),
        })
    }

    pub fn with_settings(mut self, settings: RelaySettings) -> Self {
        self.settings = settings;
        self
    }

    /// Runs [`run`](Self::run) on a task of its own.
    pub fn spawn(self, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
        tokio::spawn(self.run(shutdown))
    }

    /// Publishes until `shutdown` is cancelled, then waits briefly for messages in flight.
    pub async fn run(self, shutdown: CancellationToken) {
        tracing::info!(brokers = %self.kafka.brokers, "outbox relay started");
        let wakeups = spawn_wakeups(self.pool.clone(), shutdown.clone());
        let mut backoff = Backoff::new(self.settings.poll_interval, self.settings.max_backoff);
        let mut last_prune: Option<Instant> = None;
        loop {
            // A batch abandoned halfway is published again by the next round: at least once.
            let published = tokio::select! {
                () = shutdown.cancelled() => break,
                published = self.publish_batch() => published,
            };
            self.report_backlog().await;
            let pause = match &published {
                Ok(count) => {
                    backoff.reset();
                    if i64::try_from(*count).unwrap_or(i64::MAX) >= self.settings.batch_size {
                        Duration::ZERO // a full batch: more rows are probably waiting
                    } else {
                        self.settings.poll_interval
                    }
                }
                Err(error) => {
                    let pause = backoff.next_delay();
                    tracing::warn!(%error, retry_in = ?pause, "outbox relay cannot publish");
                    if let EventsError::Publish { source, .. } = error {
                        self.producer.renew_if_broken(source);
                        if topics::may_be_missing(source) {
                            tokio::select! {
                                () = shutdown.cancelled() => break,
                                _created = topics::ensure_or_warn(&self.kafka) => {}
                            }
                        }
                    }
                    pause
                }
            };
            if last_prune.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
                last_prune = Some(Instant::now());
                self.prune().await;
            }
            // Until the next poll, unless an enqueuing transaction commits first.
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(pause) => {}
                () = wakeups.notified(), if published.is_ok() => {}
            }
        }
        // Everything acknowledged has been marked already; this only lets librdkafka finish
        // its conversation with the broker, off the async threads and within a bound.
        let Self { producer, .. } = self;
        if producer.close(CLOSE_FLUSH, CLOSE_PATIENCE).await {
            tracing::info!("outbox relay stopped");
        } else {
            tracing::warn!(patience = ?CLOSE_PATIENCE, "outbox relay stopped before its producer closed");
        }
    }

    /// Publishes one batch of unsent rows, oldest first, and marks those the broker
    /// acknowledged, and those refused for good as set aside. Returns how many rows it
    /// settled either way; rows that failed transiently stay queued, with the error.
    pub async fn publish_batch(&self) -> Result<usize, EventsError> {
        let mut tx = self.pool.begin().await?;
        // One publisher per schema keeps the order: a replica that cannot take the lock
        // leaves the work to the one that has it. Advisory locks are database-wide, hence
        // the schema in the key; the lock ends with the transaction.
        let leader: bool = sqlx::query_scalar(
            "SELECT pg_try_advisory_xact_lock(hashtext(current_schema() || '.shop-events.outbox'))",
        )
        .fetch_one(&mut *tx)
        .await?;
        if !leader {
            return Ok(0);
        }
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, topic, key, payload, headers FROM outbox
             WHERE sent_at IS NULL AND failed_at IS NULL
             ORDER BY created_at, id
             LIMIT $1
             FOR UPDATE SKIP LOCKED",
        )
        .bind(self.settings.batch_size)
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            return Ok(0);
        }

        // Queue every message before awaiting any, in order: librdkafka batches them and the
        // idempotent producer keeps their order within each partition.
        let producer = self.producer.get();
        let mut outcomes = Outcomes::default();
        let mut deliveries = Vec::with_capacity(rows.len());
        for row in &rows {
            let topic = self.kafka.topic(&row.topic);
            let payload = serde_json::to_vec(&row.payload.0)?;
            let record = FutureRecord::to(&topic)
                .key(&row.key)
                .payload(&payload)
                .headers(message_headers(row));
            match producer.send_result(record) {
                Ok(delivery) => deliveries.push((row, delivery)),
                // Refused before it left (larger than `message.max.bytes`): set it aside, and
                // the rows behind it go on.
                Err((error, _)) if is_permanent(&error) => outcomes.refused(row, error),
                // The local queue is full, or the producer is broken: stop here and keep
                // the rest for the next round.
                Err((error, _)) => {
                    outcomes.failed(row, error);
                    break;
                }
            }
        }
        let (rows_queued, deliveries): (Vec<&Row>, Vec<_>) = deliveries.into_iter().unzip();
        let mut offsets = Vec::new();
        for (row, delivery) in rows_queued
            .into_iter()
            .zip(futures::future::join_all(deliveries).await)
        {
            match delivery {
                Ok(Ok(delivery)) => {
                    outcomes.sent.push(row.id);
                    offsets.push((row.topic.clone(), delivery.partition, delivery.offset));
                }
                Ok(Err((error, _))) if is_permanent(&error) => outcomes.refused(row, error),
                Ok(Err((error, _))) => outcomes.failed(row, error),
                // The producer went away before reporting: as good as failed.
                Err(_canceled) => outcomes.failed(row, KafkaError::Canceled),
            }
        }

        sqlx::query(
            "UPDATE outbox SET sent_at = clock_timestamp(), attempts = attempts + 1
             WHERE id = ANY($1)",
        )
        .bind(&outcomes.sent)
        .execute(&mut *tx)
        .await?;
        // Offsets going backwards mean the topic is not the one we published to before: the
        // broker lost everything (a new cluster, a wiped volume), and with it the events we
        // published and marked sent. Publish them again (those kept, see `keep_sent`);
        // consumers deduplicate on the envelope id.
        let reset = self.record_offsets(&offsets);
        for topic in &reset {
            let requeued = sqlx::query(
                "UPDATE outbox SET sent_at = NULL
                 WHERE topic = $1 AND sent_at IS NOT NULL AND failed_at IS NULL
                   AND sent_at > clock_timestamp() - make_interval(secs => $2)
                   AND id <> ALL($3)",
            )
            .bind(topic)
            .bind(self.settings.keep_sent.as_secs_f64())
            .bind(&outcomes.sent)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            metrics::counter!("outbox_requeued_total").increment(requeued);
            tracing::warn!(
                %topic,
                requeued,
                "the broker's offsets went back: it lost the topic; publishing its events again"
            );
        }
        for (set_aside, errors) in [(false, &outcomes.transient), (true, &outcomes.permanent)] {
            if errors.is_empty() {
                continue;
            }
            let (ids, messages): (Vec<Uuid>, Vec<String>) = errors
                .iter()
                .map(|(id, _, error)| (*id, error.to_string()))
                .unzip();
            sqlx::query(
                "UPDATE outbox AS o
                 SET attempts = o.attempts + 1, last_error = f.error,
                     failed_at = CASE WHEN $3 THEN clock_timestamp() END
                 FROM unnest($1::uuid[], $2::text[]) AS f(id, error)
                 WHERE o.id = f.id",
            )
            .bind(&ids)
            .bind(&messages)
            .bind(set_aside)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        metrics::counter!("outbox_published_total").increment(outcomes.sent.len() as u64);
        metrics::counter!("outbox_events_failed_total").increment(outcomes.permanent.len() as u64);
        for (id, topic, error) in &outcomes.permanent {
            tracing::error!(
                event.id = %id,
                topic = %topic,
                %error,
                "the broker refuses this event for good: set aside in the outbox (failed_at), the rest goes on"
            );
        }

        let settled = outcomes.sent.len() + outcomes.permanent.len();
        let failed = outcomes.transient.len();
        match outcomes.transient.pop() {
            Some((_, _, source)) => Err(EventsError::Publish {
                failed,
                total: rows.len(),
                source,
            }),
            None => Ok(settled),
        }
    }

    /// Remembers the acknowledged offsets; returns the topics (of the contract) where one
    /// was not above the highest acknowledged before on its partition.
    fn record_offsets(&self, offsets: &[(String, i32, i64)]) -> BTreeSet<String> {
        let mut acked = self.acked.lock().unwrap_or_else(PoisonError::into_inner);
        let reset: BTreeSet<String> = offsets
            .iter()
            .filter(|(topic, partition, offset)| {
                acked
                    .get(&(topic.clone(), *partition))
                    .is_some_and(|highest| offset <= highest)
            })
            .map(|(topic, _, _)| topic.clone())
            .collect();
        acked.retain(|(topic, _), _| !reset.contains(topic));
        for (topic, partition, offset) in offsets {
            let highest = acked.entry((topic.clone(), *partition)).or_insert(*offset);
            *highest = (*highest).max(*offset);
        }
        reset
    }

    /// Sets the backlog gauges; a failure only costs one reading.
    async fn report_backlog(&self) {
        let backlog = match self.pool.acquire().await {
            Ok(mut conn) => outbox::backlog(&mut conn).await,
            Err(error) => Err(error.into()),
        };
        match backlog {
            Ok(backlog) => {
                metrics::gauge!("outbox_pending").set(backlog.pending as f64);
                metrics::gauge!("outbox_lag_seconds").set(backlog.oldest_age.as_secs_f64());
                metrics::gauge!("outbox_failed").set(backlog.failed as f64);
            }
            Err(error) => tracing::debug!(%error, "cannot read the outbox backlog"),
        }
    }

    /// Deletes rows published longer ago than `keep_sent`.
    async fn prune(&self) {
        let deleted = sqlx::query(
            "DELETE FROM outbox WHERE sent_at < clock_timestamp() - make_interval(secs => $1)",
        )
        .bind(self.settings.keep_sent.as_secs_f64())
        .execute(&self.pool)
        .await;
        match deleted {
            Ok(done) if done.rows_affected() > 0 => {
                tracing::debug!(rows = done.rows_affected(), "pruned published outbox rows");
            }
            Ok(_) => {}
            Err(error) => tracing::debug!(%error, "cannot prune the outbox"),
        }
    }
}

/// Wakes the relay as soon as a transaction that enqueued an event commits (Postgres
/// LISTEN/NOTIFY), so events leave within milliseconds rather than at the next poll. Polling
/// remains the safety net: a notification sent while the listener reconnects is lost.
fn spawn_wakeups(pool: PgPool, shutdown: CancellationToken) -> Arc<Notify> {
    let wakeups = Arc::new(Notify::new());
    let notify = wakeups.clone();
    tokio::spawn(async move {
        let mut listener = None;
        loop {
            let received = tokio::select! {
                () = shutdown.cancelled() => return,
                received = next_notification(&pool, &mut listener) => received,
            };
            match received {
                Ok(()) => notify.notify_one(),
                Err(error) => {
                    tracing::debug!(%error, "outbox listener lost its connection; polling meanwhile");
                    listener = None;
                    if !sleep_unless_cancelled(&shutdown, LISTENER_RETRY).await {
                        return;
                    }
                }
            }
        }
    });
    wakeups
}

/// Waits for the next notification, connecting the listener first if needed.
async fn next_notification(
    pool: &PgPool,
    listener: &mut Option<PgListener>,
) -> Result<(), sqlx::Error> {
    let listener = match listener {
        Some(listener) => listener,
        None => {
            let mut new = PgListener::connect_with(pool).await?;
            // Channels are database-wide and the services share a database: the schema
            // names this service's channel (as `outbox::enqueue` does).
            let schema: String = sqlx::query_scalar("SELECT current_schema()")
                .fetch_one(&mut new)
                .await?;
            new.listen(&format!("shop_events_outbox_{schema}")).await?;
            listener.insert(new)
        }
    };
    listener.recv().await.map(|_| ())
}

/// What became of the rows of one batch.
#[derive(Default)]
struct Outcomes {
    sent: Vec<Uuid>,
    /// Failed for now: retried. (id, topic, error)
    transient: Vec<(Uuid, String, KafkaError)>,
    /// Refused for good: set aside.
    permanent: Vec<(Uuid, String, KafkaError)>,
}

impl Outcomes {
    fn failed(&mut self, row: &Row, error: KafkaError) {
        self.transient.push((row.id, row.topic.clone(), error));
    }

    fn refused(&mut self, row: &Row, error: KafkaError) {
        self.permanent.push((row.id, row.topic.clone(), error));
    }
}

/// Whether the broker (or the producer, checking before sending) will refuse this message
/// however often it is sent: it is too large, or malformed. Everything else (timeouts, a
/// full queue, a missing topic, a broken producer, authorization) may pass on a later try.
pub fn is_permanent(error: &KafkaError) -> bool {
    matches!(
        error,
        KafkaError::MessageProduction(
            RDKafkaErrorCode::MessageSizeTooLarge
                | RDKafkaErrorCode::InvalidMessageSize
                | RDKafkaErrorCode::InvalidMessage
                | RDKafkaErrorCode::InvalidRecord
                | RDKafkaErrorCode::UnsupportedForMessageFormat
        )
    )
}

/// How long a stopping relay lets librdkafka deliver what it holds.
const CLOSE_FLUSH: Duration = Duration::from_secs(2);

/// How long a stopping relay waits for its producer to flush and close: well inside the
/// shutdown grace period of an orchestrator (30 s by default in Kubernetes).
const CLOSE_PATIENCE: Duration = Duration::from_secs(5);

/// How long the listener waits before reconnecting.
const LISTENER_RETRY: Duration = Duration::from_secs(1);

/// How often published rows are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(600);

/// The envelope's id and type, and the trace context saved at enqueue time.
fn message_headers(row: &Row) -> OwnedHeaders {
    let event_type = row.payload.0["type"].as_str().unwrap_or_default();
    let mut message_headers = OwnedHeaders::new_with_capacity(2 + row.headers.0.len());
    message_headers = headers::with(message_headers, headers::EVENT_ID, &row.id.to_string());
    message_headers = headers::with(message_headers, headers::EVENT_TYPE, event_type);
    for (key, value) in &row.headers.0 {
        message_headers = headers::with(message_headers, key, value);
    }
    message_headers
}
