//! The backbone when the broker is killed and started again, in its two ways:
//! - it lost everything (in memory; a new cluster, a wiped volume): the topics are made
//!   again, the producer and the consumer carry on, the outbox is published again;
//! - it kept everything (tansu on Postgres, Kafka on a volume): the clients simply carry on.
//!
//! Either way nothing is lost or applied twice.
//!
//! A binary of its own because it reads process-wide counters that other tests would move
//! (nextest runs each test in a process of its own).

#[allow(dead_code)]
#[path = "backbone/helpers.rs"]
mod helpers;

use helpers::{TestContext, eventually_within, metric};
use shop_events::event::{Item, OrderConfirmed};
use shop_events::{
    ConsumerSettings, Envelope, EventConsumer, Handler, HandlerError, OutboxRelay, RelaySettings,
    outbox, topics,
};
use shop_testing::PrivateBroker;
use sqlx::PgConnection;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Records each event it handles in the `seen` table (no unique key: a duplicate applied
/// would show as a second row).
struct Recorder;

impl Handler for Recorder {
    async fn handle(
        &self,
        conn: &mut PgConnection,
        envelope: &Envelope,
    ) -> Result<(), HandlerError> {
        sqlx::query("INSERT INTO seen (event_id, type) VALUES ($1, $2)")
            .bind(envelope.id)
            .bind(envelope.event_type())
            .execute(conn)
            .await?;
        Ok(())
    }
}

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

/// (rows in `seen`, distinct event ids in it)
async fn seen(ctx: &TestContext) -> (i64, BTreeSet<Uuid>) {
    let rows: Vec<(Uuid,)> = sqlx::query_as("SELECT event_id FROM seen")
        .fetch_all(&ctx.pool)
        .await
        .expect("seen");
    let count = i64::try_from(rows.len()).expect("a count");
    (count, rows.into_iter().map(|(id,)| id).collect())
}

async fn unsent(ctx: &TestContext) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
        .fetch_one(&ctx.pool)
        .await
        .expect("unsent")
}

#[tokio::test]
async fn after_the_broker_lost_everything_topics_come_back_and_every_event_arrives_once() {
    let broker = PrivateBroker::start().await.expect("a broker of our own");
    let figures = kill_and_restart(broker).await;
    assert!(
        figures.requeued >= 5.0,
        "the 5 events the lost broker held are published again: {figures:?}"
    );
}

#[tokio::test]
async fn a_durable_broker_killed_and_restarted_loses_nothing_and_needs_no_resend() {
    let broker = PrivateBroker::start_durable()
        .await
        .expect("a broker of our own on Postgres");
    let figures = kill_and_restart(broker).await;
    assert_eq!(
        figures.requeued, 0.0,
        "the broker kept what it had acknowledged: {figures:?}"
    );
}

/// What a drill measured.
#[derive(Debug)]
#[allow(dead_code)] // read through Debug
struct Figures {
    events: usize,
    recovered: Duration,
    published: f64,
    requeued: f64,
    duplicates_skipped: f64,
    producers_renewed: f64,
}

/// Events before, during and after a `kill -9` of the broker and its restart: every one is
/// handled exactly once, and the topics are there with their partitions.
async fn kill_and_restart(mut broker: PrivateBroker) -> Figures {
    let ctx = TestContext::with_brokers(&broker.brokers()).await;
    let shutdown = CancellationToken::new();
    let relay = OutboxRelay::new(ctx.pool.clone(), &ctx.kafka, "orders")
        .expect("relay")
        .with_settings(RelaySettings {
            poll_interval: Duration::from_millis(50),
            max_backoff: Duration::from_secs(2),
            ..RelaySettings::default()
        })
        .spawn(shutdown.clone());
    let consumer = EventConsumer::new(
        &ctx.kafka,
        "history",
        &[topics::ORDERS],
        ctx.pool.clone(),
        Recorder,
    )
    .expect("consumer")
    .with_settings(ConsumerSettings {
        max_backoff: Duration::from_secs(2),
        ..ConsumerSettings::default()
    })
    .spawn(shutdown.clone());

    let mut ids: BTreeSet<Uuid> = enqueue(&ctx, 5).await.into_iter().collect();
    eventually_within(
        Duration::from_secs(60),
        "the first events are handled",
        || async { seen(&ctx).await.1 == ids },
    )
    .await;

    // The broker dies with everything it held; events keep being written meanwhile.
    broker.kill().await.expect("killed");
    ids.extend(enqueue(&ctx, 10).await);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let lost = Instant::now();
    broker.restart().await.expect("the broker again");
    ids.extend(enqueue(&ctx, 5).await);

    eventually_within(
        Duration::from_secs(60),
        "every event is handled after the broker came back",
        || async { seen(&ctx).await.1 == ids },
    )
    .await;
    let recovered = lost.elapsed();
    eventually_within(Duration::from_secs(10), "the outbox is empty", || async {
        unsent(&ctx).await == 0
    })
    .await;
    let (rows, distinct) = seen(&ctx).await;
    assert_eq!(
        rows,
        i64::try_from(distinct.len()).expect("a count"),
        "no event applied twice"
    );
    assert_eq!(distinct, ids, "every event, none lost");

    // The topics exist again with the configured partitions.
    let admin_view: rdkafka::consumer::BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &ctx.kafka.brokers)
        .create()
        .expect("a client");
    let topic = ctx.topic(topics::ORDERS);
    let metadata = tokio::task::spawn_blocking(move || {
        use rdkafka::consumer::Consumer;
        admin_view
            .fetch_metadata(Some(&topic), Duration::from_secs(5))
            .map(|metadata| {
                metadata
                    .topics()
                    .first()
                    .map(|topic| (topic.error(), topic.partitions().len()))
            })
    })
    .await
    .expect("joined")
    .expect("metadata");
    assert_eq!(
        metadata,
        Some((None, 2)),
        "recreated with the configured 2 partitions"
    );

    let figures = Figures {
        events: ids.len(),
        recovered,
        published: metric("outbox_published_total", &[]),
        requeued: metric("outbox_requeued_total", &[]),
        duplicates_skipped: metric("events_duplicate_total", &[]),
        producers_renewed: metric("kafka_producers_renewed_total", &[]),
    };
    eprintln!("{figures:?} (0 applied twice)");

    shutdown.cancel();
    for task in [relay, consumer] {
        tokio::time::timeout(Duration::from_secs(15), task)
            .await
            .expect("the tasks stop when cancelled")
            .expect("no panic");
    }
    figures
}
