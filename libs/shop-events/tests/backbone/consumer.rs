//! Idempotent consumers, the dead-letter topic, and trace context from producer to handler.

use crate::helpers::{TestContext, eventually, header, metric};
use crate::{Recorder, order_confirmed};
use rdkafka::Message;
use shop_events::{
    ConsumerSettings, Envelope, EventConsumer, Handler, HandlerError, OutboxRelay, outbox, topics,
};
use shop_testing::PrivateBroker;
use sqlx::PgConnection;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// A consumer of `orders.events` in `group`, running until the returned token is cancelled.
fn start<H: Handler>(
    ctx: &TestContext,
    group: &str,
    handler: H,
) -> (CancellationToken, JoinHandle<()>) {
    let shutdown = CancellationToken::new();
    let settings = ConsumerSettings {
        max_retries: 2,
        retry_backoff: Duration::from_millis(10),
        ..ConsumerSettings::default()
    };
    let consumer = EventConsumer::new(
        &ctx.kafka,
        group,
        &[topics::ORDERS],
        ctx.pool.clone(),
        handler,
    )
    .expect("consumer")
    .with_settings(settings)
    .spawn(shutdown.clone());
    (shutdown, consumer)
}

async fn stop((shutdown, consumer): (CancellationToken, JoinHandle<()>)) {
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), consumer)
        .await
        .expect("the consumer stops when cancelled")
        .expect("the consumer task ends without panicking");
}

#[tokio::test]
async fn each_event_is_handled_once_even_when_delivered_twice() {
    let ctx = TestContext::new().await;
    let topic = ctx.topic(topics::ORDERS);
    let group = "orders-history";
    let consumer = start(&ctx, group, Recorder);
    let events = [order_confirmed(), order_confirmed(), order_confirmed()];
    for event in &events {
        ctx.produce(event).await;
    }
    ctx.wait_until_seen(3).await;

    // The identical envelope again, as after a relay crash between publishing and marking.
    let duplicates = || metric("events_duplicate_total", &[("topic", &topic)]);
    assert_eq!(duplicates(), 0.0);
    ctx.produce(&events[0]).await;
    crate::helpers::eventually("the redelivery is counted as a duplicate", || async {
        duplicates() == 1.0
    })
    .await;
    assert_eq!(ctx.seen().await.len(), 3, "the duplicate changed nothing");
    let processed = [("topic", topic.as_str()), ("outcome", "processed")];
    assert_eq!(metric("events_consumed_total", &processed), 3.0);
    stop(consumer).await;

    // A restarted member of the group resumes after the committed offsets: nothing old is
    // delivered again (it would count as a duplicate).
    let consumer = start(&ctx, group, Recorder);
    ctx.produce(&order_confirmed()).await;
    ctx.wait_until_seen(4).await;
    assert_eq!(
        duplicates(),
        1.0,
        "the restarted consumer re-read committed messages"
    );
    stop(consumer).await;
}

#[tokio::test]
async fn a_poison_message_is_dead_lettered_and_the_next_event_is_still_handled() {
    let ctx = TestContext::new().await;
    let topic = ctx.topic(topics::ORDERS);
    let consumer = start(&ctx, "orders-history", Recorder);
    // One key, so one partition: the good event comes after the bad ones.
    let good = order_confirmed();
    let key = good.key();
    ctx.produce_raw(&topic, &key, b"not json at all").await;
    let mut newer_type = serde_json::to_value(order_confirmed()).unwrap();
    newer_type["type"] = "OrderShipped".into();
    ctx.produce_raw(&topic, &key, newer_type.to_string().as_bytes())
        .await;
    ctx.produce(&good).await;

    ctx.wait_until_seen(1).await;
    assert_eq!(ctx.seen().await[0].0, good.id);
    let dlq = ctx.kafka.dlq_topic(topics::ORDERS);
    let dead = ctx.read(&dlq, 1).await.remove(0);
    assert_eq!(dead.payload(), Some(&b"not json at all"[..]));
    assert_eq!(dead.key(), Some(key.as_bytes()));
    let error = header(&dead, "error").expect("an error header");
    assert!(error.contains("not an event envelope"), "{error}");
    assert_eq!(header(&dead, "original-topic"), Some(topic.clone()));
    assert!(header(&dead, "original-partition").is_some());
    assert_eq!(header(&dead, "original-offset").as_deref(), Some("0"));
    // An event type from a newer producer is skipped, not dead-lettered.
    assert_eq!(ctx.read_all_with_key(&dlq, &key).await.len(), 1);
    let ignored = [
        ("topic", topic.as_str()),
        ("type", "OrderShipped"),
        ("outcome", "ignored"),
    ];
    assert_eq!(metric("events_consumed_total", &ignored), 1.0);
    assert_eq!(metric("events_dlq_total", &[("topic", &topic)]), 1.0);
    stop(consumer).await;
}

/// Fails for chosen subjects, counting its calls; records the other events.
struct FailingFor {
    transient: String,
    permanent: String,
    calls: Arc<Mutex<HashMap<String, u32>>>,
}

impl Handler for FailingFor {
    async fn handle(
        &self,
        conn: &mut PgConnection,
        envelope: &Envelope,
    ) -> Result<(), HandlerError> {
        // Written before failing: the rollback must undo it.
        Recorder.handle(conn, envelope).await?;
        *self
            .calls
            .lock()
            .expect("calls")
            .entry(envelope.subject.clone())
            .or_default() += 1;
        if envelope.subject == self.transient {
            return Err(HandlerError::transient("the warehouse is not answering"));
        }
        if envelope.subject == self.permanent {
            return Err(HandlerError::permanent("the order is unknown"));
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_failing_handler_is_retried_a_bounded_number_of_times_then_dead_lettered() {
    let ctx = TestContext::new().await;
    let (transient, permanent, good) = (order_confirmed(), order_confirmed(), order_confirmed());
    let calls = Arc::new(Mutex::new(HashMap::new()));
    let handler = FailingFor {
        transient: transient.subject.clone(),
        permanent: permanent.subject.clone(),
        calls: calls.clone(),
    };
    let consumer = start(&ctx, "orders-history", handler);
    for event in [&transient, &permanent, &good] {
        ctx.produce(event).await;
    }

    let dlq = ctx.kafka.dlq_topic(topics::ORDERS);
    let mut dead = ctx.read(&dlq, 2).await;
    dead.sort_by_key(|message| message.key().map(<[u8]>::to_vec));
    let mut errors: HashMap<String, String> = dead
        .iter()
        .map(|m| {
            (
                String::from_utf8(m.key().unwrap().to_vec()).unwrap(),
                header(m, "error").unwrap(),
            )
        })
        .collect();
    assert_eq!(
        errors.remove(&transient.subject).as_deref(),
        Some("the warehouse is not answering")
    );
    assert_eq!(
        errors.remove(&permanent.subject).as_deref(),
        Some("the order is unknown")
    );

    ctx.wait_until_seen(1).await;
    let seen = ctx.seen().await;
    assert_eq!(
        seen.len(),
        1,
        "failed attempts left nothing behind: {seen:?}"
    );
    assert_eq!(seen[0].0, good.id);
    let calls = calls.lock().unwrap().clone();
    assert_eq!(
        calls.get(&transient.subject),
        Some(&3),
        "one try and two retries"
    );
    assert_eq!(
        calls.get(&permanent.subject),
        Some(&1),
        "no retry for a permanent failure"
    );
    let (processed,): (i64,) = sqlx::query_as("SELECT count(*) FROM processed_events")
        .fetch_one(&ctx.pool)
        .await
        .unwrap();
    assert_eq!(
        processed, 1,
        "dead-lettered events are not marked processed"
    );
    stop(consumer).await;
}

#[tokio::test]
async fn the_handler_runs_in_the_trace_of_the_code_that_enqueued_the_event() {
    let ctx = TestContext::new().await;
    let producer_trace = async {
        let mut tx = ctx.pool.begin().await.unwrap();
        outbox::enqueue(&mut tx, &order_confirmed()).await.unwrap();
        tx.commit().await.unwrap();
        shop_telemetry::propagation::current_trace_id()
    }
    .instrument(tracing::info_span!("POST /orders"))
    .await
    .expect("the producer runs in a trace");

    let shutdown = CancellationToken::new();
    let relay = OutboxRelay::new(ctx.pool.clone(), &ctx.kafka, "orders")
        .unwrap()
        .spawn(shutdown.clone());
    let consumer = start(&ctx, "catalog", Recorder);
    ctx.wait_until_seen(1).await;

    let handler_trace = ctx.seen().await.remove(0).2;
    assert_eq!(handler_trace.as_deref(), Some(producer_trace.as_str()));
    shutdown.cancel();
    relay.await.unwrap();
    stop(consumer).await;
}

#[tokio::test]
async fn old_processed_event_ids_are_forgotten() {
    let ctx = TestContext::new().await;
    let group = "orders-history";
    let old = uuid::Uuid::now_v7();
    sqlx::query(
        "INSERT INTO processed_events (consumer_group, event_id, processed_at)
         VALUES ($1, $2, now() - interval '30 days')",
    )
    .bind(ctx.kafka.group(group))
    .bind(old)
    .execute(&ctx.pool)
    .await
    .unwrap();
    let consumer = start(&ctx, group, Recorder);
    let recent = order_confirmed();
    ctx.produce(&recent).await;
    ctx.wait_until_seen(1).await;

    crate::helpers::eventually("the old id is pruned", || async {
        let ids: Vec<uuid::Uuid> =
            sqlx::query_scalar("SELECT event_id FROM processed_events ORDER BY event_id")
                .fetch_all(&ctx.pool)
                .await
                .unwrap();
        ids == [recent.id]
    })
    .await;
    stop(consumer).await;
}

#[tokio::test]
async fn a_consumer_stops_promptly_even_when_the_broker_stops_answering() {
    let broker = PrivateBroker::start().await.expect("a broker of our own");
    let ctx = TestContext::with_brokers(&broker.brokers()).await;
    let consumer = start(&ctx, "frozen-broker", Recorder);
    // A member of its group for sure: it has handled an event.
    ctx.produce(&order_confirmed()).await;
    ctx.wait_until_seen(1).await;

    // A hung broker never answers the consumer's request to leave its group. Waiting for
    // that answer (as dropping an rdkafka consumer does) would hang the shutdown with it.
    broker.freeze().expect("the broker suspended");
    let (shutdown, task) = consumer;
    let stopping = Instant::now();
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(20), task)
        .await
        .expect("the consumer stops although the broker does not answer")
        .expect("the consumer task ends without panicking");
    let took = stopping.elapsed();
    assert!(
        took < Duration::from_secs(8),
        "stopping took {took:?}: more than the 5 s the consumer waits to leave its group"
    );
    broker.thaw().expect("the broker resumed");
}

/// Takes its time over each event: a consumer slower than its producers.
struct Slow;

impl Handler for Slow {
    async fn handle(
        &self,
        conn: &mut PgConnection,
        envelope: &Envelope,
    ) -> Result<(), HandlerError> {
        tokio::time::sleep(Duration::from_millis(250)).await;
        Recorder.handle(conn, envelope).await
    }
}

/// The `consumer_lag` of `group` over all partitions, as `/metrics` shows it.
fn total_lag(group: &str) -> f64 {
    shop_telemetry::metrics::render()
        .lines()
        .filter(|line| line.starts_with("consumer_lag{"))
        .filter(|line| line.contains(&format!("group=\"{group}\"")))
        .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn consumer_lag_shows_the_events_waiting_for_a_slow_consumer() {
    let mut ctx = TestContext::new().await;
    ctx.kafka.statistics_interval = Duration::from_millis(100);
    let group = "slow";
    let consumer = start(&ctx, group, Slow);
    let broker_group = ctx.kafka.group(group);
    // One order's events share a key, so a partition: they queue behind each other.
    let order_id = uuid::Uuid::now_v7();
    let event = || {
        Envelope::new(
            "orders",
            shop_events::event::OrderConfirmed {
                order_id,
                user_id: uuid::Uuid::now_v7(),
                items: vec![],
            },
        )
    };
    // The first is handled and committed: librdkafka counts the lag from a commit.
    ctx.produce(&event()).await;
    ctx.wait_until_seen(1).await;
    for _ in 0..8 {
        ctx.produce(&event()).await;
    }
    // 8 events × 250 ms: two seconds in which the statistics see them waiting.
    eventually("the lag shows events waiting", || async {
        total_lag(&broker_group) >= 3.0
    })
    .await;
    ctx.wait_until_seen(9).await;
    eventually("the lag is back to zero", || async {
        total_lag(&broker_group) == 0.0
    })
    .await;
    stop(consumer).await;
}
