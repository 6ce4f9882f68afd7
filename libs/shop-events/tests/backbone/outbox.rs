//! The outbox and its relay.

use crate::helpers::{TestContext, header};
use crate::order_confirmed;
use rdkafka::Message;
use shop_events::{Envelope, OutboxRelay, RelaySettings, outbox, topics};
use std::collections::HashMap;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

#[tokio::test]
async fn an_event_whose_transaction_rolls_back_is_never_published() {
    let ctx = TestContext::new().await;
    let envelope = order_confirmed();
    let mut tx = ctx.pool.begin().await.unwrap();
    outbox::enqueue(&mut tx, &envelope).await.unwrap();
    tx.rollback().await.unwrap();

    let relay = OutboxRelay::new(ctx.pool.clone(), &ctx.kafka, "orders").unwrap();
    assert_eq!(relay.publish_batch().await.unwrap(), 0);
    let mut conn = ctx.pool.acquire().await.unwrap();
    assert_eq!(outbox::backlog(&mut conn).await.unwrap().pending, 0);
    let topic = ctx.topic(topics::ORDERS);
    assert!(
        ctx.read_all_with_key(&topic, &envelope.key())
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_committed_event_is_published_once_with_its_key_and_trace_context() {
    let ctx = TestContext::new().await;
    let envelope = order_confirmed();
    let trace_id = async {
        let mut tx = ctx.pool.begin().await.unwrap();
        outbox::enqueue(&mut tx, &envelope).await.unwrap();
        tx.commit().await.unwrap();
        shop_telemetry::propagation::current_trace_id()
    }
    .instrument(tracing::info_span!("checkout"))
    .await
    .expect("the test runs in a trace");

    let relay = OutboxRelay::new(ctx.pool.clone(), &ctx.kafka, "orders").unwrap();
    assert_eq!(relay.publish_batch().await.unwrap(), 1);
    assert_eq!(relay.publish_batch().await.unwrap(), 0, "nothing is left");

    let topic = ctx.topic(topics::ORDERS);
    let message = ctx.read(&topic, 1).await.remove(0);
    assert_eq!(message.key(), Some(envelope.key().as_bytes()));
    let published = Envelope::from_json(message.payload().unwrap()).unwrap();
    assert_eq!(published, envelope);
    assert_eq!(header(&message, "event-id"), Some(envelope.id.to_string()));
    assert_eq!(
        header(&message, "event-type").as_deref(),
        Some("OrderConfirmed")
    );
    let traceparent = header(&message, "traceparent").expect("a traceparent header");
    assert!(
        traceparent.contains(&trace_id),
        "{traceparent} is not in trace {trace_id}"
    );
    let all = ctx.read_all_with_key(&topic, &envelope.key()).await;
    assert_eq!(all.len(), 1, "published exactly once");

    let (attempts, sent): (i32, bool) =
        sqlx::query_as("SELECT attempts, sent_at IS NOT NULL FROM outbox WHERE id = $1")
            .bind(envelope.id)
            .fetch_one(&ctx.pool)
            .await
            .unwrap();
    assert_eq!((attempts, sent), (1, true));
}

#[tokio::test]
async fn the_relay_publishes_each_aggregate_in_order_on_one_partition_and_stops_on_cancel() {
    let ctx = TestContext::new().await;
    // Two orders, five events each, interleaved, one transaction each.
    let orders = [order_confirmed(), order_confirmed()];
    let mut enqueued: HashMap<String, Vec<String>> = HashMap::new();
    for _ in 0..5 {
        for order in &orders {
            let mut envelope = order.clone();
            envelope.id = uuid::Uuid::now_v7();
            let mut tx = ctx.pool.begin().await.unwrap();
            outbox::enqueue(&mut tx, &envelope).await.unwrap();
            tx.commit().await.unwrap();
            enqueued
                .entry(envelope.key())
                .or_default()
                .push(envelope.id.to_string());
        }
    }

    let shutdown = CancellationToken::new();
    let settings = RelaySettings {
        batch_size: 3, // several rounds
        poll_interval: Duration::from_millis(20),
        ..RelaySettings::default()
    };
    let relay = OutboxRelay::new(ctx.pool.clone(), &ctx.kafka, "orders")
        .unwrap()
        .with_settings(settings)
        .spawn(shutdown.clone());

    let messages = ctx.read(&ctx.topic(topics::ORDERS), 10).await;
    let mut published: HashMap<String, Vec<String>> = HashMap::new();
    let mut partitions: HashMap<String, Vec<i32>> = HashMap::new();
    for message in &messages {
        let key = String::from_utf8(message.key().unwrap().to_vec()).unwrap();
        published
            .entry(key.clone())
            .or_default()
            .push(header(message, "event-id").unwrap());
        partitions.entry(key).or_default().push(message.partition());
    }
    assert_eq!(
        published, enqueued,
        "each order's events in the order written"
    );
    for (key, partitions) in partitions {
        assert!(
            partitions.windows(2).all(|pair| pair[0] == pair[1]),
            "{key} spread over partitions {partitions:?}"
        );
    }

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), relay)
        .await
        .expect("the relay stops when cancelled")
        .unwrap();
}

#[tokio::test]
async fn a_commit_wakes_the_relay_without_waiting_for_the_next_poll() {
    let ctx = TestContext::new().await;
    let enqueue = |envelope: Envelope| {
        let pool = ctx.pool.clone();
        async move {
            let mut tx = pool.begin().await.unwrap();
            outbox::enqueue(&mut tx, &envelope).await.unwrap();
            tx.commit().await.unwrap();
            envelope.id.to_string()
        }
    };
    let first = enqueue(order_confirmed()).await;
    let shutdown = CancellationToken::new();
    let settings = RelaySettings {
        poll_interval: Duration::from_secs(3600), // only a notification can wake it in time
        ..RelaySettings::default()
    };
    let relay = OutboxRelay::new(ctx.pool.clone(), &ctx.kafka, "orders")
        .unwrap()
        .with_settings(settings)
        .spawn(shutdown.clone());
    let topic = ctx.topic(topics::ORDERS);
    // Published by the relay's first round, at start-up; by now it is waiting.
    ctx.read(&topic, 1).await;

    let second = enqueue(order_confirmed()).await;
    let messages = ctx.read(&topic, 2).await;
    let mut ids: Vec<String> = messages
        .iter()
        .filter_map(|m| header(m, "event-id"))
        .collect();
    ids.sort(); // the two may be on different partitions; v7 ids sort by creation
    assert_eq!(ids, [first, second]);

    shutdown.cancel();
    relay.await.unwrap();
}

/// Adds `envelope` to the outbox in a transaction of its own.
async fn enqueue_one(ctx: &TestContext, envelope: &Envelope) {
    let mut tx = ctx.pool.begin().await.expect("a transaction");
    outbox::enqueue(&mut tx, envelope).await.expect("enqueued");
    tx.commit().await.expect("committed");
}

#[tokio::test]
async fn a_message_the_broker_refuses_for_good_is_set_aside_and_the_ones_behind_it_flow() {
    let ctx = TestContext::new().await;
    let before = order_confirmed();
    enqueue_one(&ctx, &before).await;
    // Larger than `message.max.bytes` (1 MB by default, the producer's and the broker's):
    // librdkafka refuses it at once with MSG_SIZE_TOO_LARGE, and would on every retry.
    let big = uuid::Uuid::now_v7();
    sqlx::query(
        "INSERT INTO outbox (id, topic, key, payload) VALUES ($1, 'orders.events', $2,
         jsonb_build_object('id', $1::text, 'type', 'OrderConfirmed', 'padding', repeat('x', 1200000)))",
    )
    .bind(big)
    .bind(big.to_string())
    .execute(&ctx.pool)
    .await
    .unwrap();
    let after = order_confirmed();
    enqueue_one(&ctx, &after).await;
    let failed_before = crate::helpers::metric("outbox_events_failed_total", &[]);

    let shutdown = CancellationToken::new();
    let settings = RelaySettings {
        poll_interval: Duration::from_millis(20),
        ..RelaySettings::default()
    };
    let relay = OutboxRelay::new(ctx.pool.clone(), &ctx.kafka, "orders")
        .unwrap()
        .with_settings(settings)
        .spawn(shutdown.clone());

    // Both normal events arrive: the refused one between them holds nothing back.
    let topic = ctx.topic(topics::ORDERS);
    let messages = ctx.read(&topic, 2).await;
    let mut ids: Vec<String> = messages
        .iter()
        .filter_map(|m| header(m, "event-id"))
        .collect();
    ids.sort();
    assert_eq!(ids, [before.id.to_string(), after.id.to_string()]);

    crate::helpers::eventually("the big one is set aside", || async {
        let mut conn = ctx.pool.acquire().await.unwrap();
        outbox::backlog(&mut conn).await.unwrap().failed == 1
    })
    .await;
    let (sent, failed, attempts, error): (bool, bool, i32, Option<String>) = sqlx::query_as(
        "SELECT sent_at IS NOT NULL, failed_at IS NOT NULL, attempts, last_error
         FROM outbox WHERE id = $1",
    )
    .bind(big)
    .fetch_one(&ctx.pool)
    .await
    .unwrap();
    assert!(!sent && failed, "set aside, never marked sent");
    assert_eq!(attempts, 1, "tried once: a permanent error is not retried");
    let error = error.expect("the error is recorded");
    assert!(error.contains("too large"), "{error}");
    let mut conn = ctx.pool.acquire().await.unwrap();
    let backlog = outbox::backlog(&mut conn).await.unwrap();
    assert_eq!((backlog.pending, backlog.failed), (0, 1), "{backlog:?}");
    assert!(
        crate::helpers::metric("outbox_events_failed_total", &[]) >= failed_before + 1.0,
        "counted in outbox_events_failed_total"
    );

    // Later events flow too, and the refused one stays aside.
    let later = order_confirmed();
    enqueue_one(&ctx, &later).await;
    let messages = ctx.read(&topic, 3).await;
    assert!(
        messages
            .iter()
            .any(|m| header(m, "event-id") == Some(later.id.to_string()))
    );
    let all = ctx.read_all_with_key(&topic, &big.to_string()).await;
    assert!(all.is_empty(), "the big one never reached the topic");
    let (attempts,): (i32,) = sqlx::query_as("SELECT attempts FROM outbox WHERE id = $1")
        .bind(big)
        .fetch_one(&ctx.pool)
        .await
        .unwrap();
    assert_eq!(attempts, 1, "and is not retried");

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), relay)
        .await
        .expect("the relay stops when cancelled")
        .unwrap();
}
