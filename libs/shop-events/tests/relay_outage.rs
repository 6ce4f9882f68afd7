//! The relay through a broker outage: events wait in the outbox and none is lost.
//!
//! A binary of its own because it reads the relay's process-wide gauges, which the relays
//! of other tests would overwrite.
//!
//! Kafka clients connect to the address a broker *advertises*, so a proxy in front of the
//! shared broker would only carry the first connection. This test therefore runs a private
//! tansu that advertises a proxy's address (`shop_testing::PrivateBroker`): cutting the
//! proxy cuts the relay off from the broker while the broker keeps its topics.

#[allow(dead_code)]
#[path = "backbone/helpers.rs"]
mod helpers;

use helpers::{TestContext, eventually, eventually_within, header, metric};
use shop_events::event::{Item, OrderConfirmed};
use shop_events::{Envelope, OutboxRelay, RelaySettings, outbox, topics};
use shop_testing::PrivateBroker;
use std::collections::BTreeSet;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

async fn enqueue(ctx: &TestContext, count: usize) -> Vec<Uuid> {
    let mut ids = Vec::new();
    for _ in 0..count {
        let envelope = Envelope::new(
            "orders",
            OrderConfirmed {
                order_id: Uuid::now_v7(),
                user_id: Uuid::now_v7(),
                items: vec![Item {
                    product_id: Uuid::now_v7(),
                    quantity: 1,
                }],
            },
        );
        let mut tx = ctx.pool.begin().await.expect("transaction");
        outbox::enqueue(&mut tx, &envelope).await.expect("enqueued");
        tx.commit().await.expect("committed");
        ids.push(envelope.id);
    }
    ids
}

async fn pending(ctx: &TestContext) -> i64 {
    let mut conn = ctx.pool.acquire().await.expect("connection");
    outbox::backlog(&mut conn).await.expect("backlog").pending
}

#[tokio::test]
async fn events_wait_out_a_broker_outage_and_none_is_lost() {
    let broker = PrivateBroker::start().await.expect("a broker of our own");
    let ctx = TestContext::with_brokers(&broker.brokers()).await;
    let shutdown = CancellationToken::new();
    let settings = RelaySettings {
        poll_interval: Duration::from_millis(50),
        max_backoff: Duration::from_secs(1),
        ..RelaySettings::default()
    };
    let relay = OutboxRelay::new(ctx.pool.clone(), &ctx.kafka, "orders")
        .unwrap()
        .with_settings(settings)
        .spawn(shutdown.clone());

    let mut ids = enqueue(&ctx, 5).await;
    eventually("the first events are published", || async {
        pending(&ctx).await == 0
    })
    .await;

    broker.disconnect();
    ids.extend(enqueue(&ctx, 10).await);
    eventually_within(
        Duration::from_secs(60),
        "the relay reports the backlog of the outage",
        || async {
            metric("outbox_pending", &[]) == 10.0 && metric("outbox_lag_seconds", &[]) >= 1.0
        },
    )
    .await;
    assert_eq!(
        pending(&ctx).await,
        10,
        "nothing was marked sent while the broker was away"
    );
    let (tried,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM outbox
         WHERE sent_at IS NULL AND failed_at IS NULL AND last_error IS NOT NULL AND attempts > 0",
    )
    .fetch_one(&ctx.pool)
    .await
    .unwrap();
    assert!(
        tried > 0,
        "the relay kept trying, recording attempts and the error, and set nothing aside"
    );

    broker.reconnect();
    eventually_within(
        Duration::from_secs(60),
        "the backlog is delivered",
        || async { pending(&ctx).await == 0 },
    )
    .await;
    eventually("the gauges show the backlog is gone", || async {
        metric("outbox_pending", &[]) == 0.0
    })
    .await;

    // At least once: every event is there (one caught mid-flight by the cut may be twice).
    let enqueued: BTreeSet<String> = ids.iter().map(Uuid::to_string).collect();
    let delivered = |messages: &[rdkafka::message::OwnedMessage]| -> BTreeSet<String> {
        messages
            .iter()
            .filter_map(|message| header(message, "event-id"))
            .collect()
    };
    let messages = ctx
        .read_until(&ctx.topic(topics::ORDERS), |messages| {
            delivered(messages).len() >= enqueued.len()
        })
        .await;
    assert_eq!(
        delivered(&messages),
        enqueued,
        "every event delivered, none lost"
    );
    assert!(metric("outbox_published_total", &[]) >= 15.0);

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), relay)
        .await
        .expect("the relay stops when cancelled")
        .unwrap();
}
