//! The relay through a broker outage: events wait in the outbox and none is lost.
//!
//! A binary of its own because it reads the relay's process-wide gauges, which the relays
//! of other tests would overwrite.
//!
//! Kafka clients connect to the address a broker *advertises*, so a proxy in front of the
//! shared broker would only carry the first connection. This test therefore runs a private
//! tansu that advertises the proxy's address: every connection goes through the proxy, and
//! disabling it cuts the relay off from the broker while the broker keeps its topics.

#[allow(dead_code)]
#[path = "backbone/helpers.rs"]
mod helpers;

use helpers::{TestContext, eventually, eventually_within, header, metric};
use shop_events::event::{Item, OrderConfirmed};
use shop_events::{Envelope, OutboxRelay, RelaySettings, outbox, topics};
use shop_testing::TcpProxy;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// A tansu broker of this test's own, reachable only through `proxy`.
struct PrivateBroker {
    proxy: TcpProxy,
    _tansu: tokio::process::Child,
}

impl PrivateBroker {
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let listener = format!("127.0.0.1:{port}");
        let proxy = TcpProxy::start(listener.clone()).await.expect("proxy");
        let log_path = std::env::temp_dir().join(format!("shop-events-tansu-{port}.log"));
        let log = std::fs::File::create(&log_path).expect("tansu log file");
        let tansu = tokio::process::Command::new(tansu_binary())
            .args(["broker", "--listener-url", &format!("tcp://{listener}")])
            .args([
                "--advertised-listener-url",
                &format!("tcp://{}", proxy.addr()),
            ])
            .args(["--storage-engine", "memory://tansu/"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("tansu starts");
        eventually(
            &format!("tansu listens at {listener} (log: {})", log_path.display()),
            || async { tokio::net::TcpStream::connect(&listener).await.is_ok() },
        )
        .await;
        Self {
            proxy,
            _tansu: tansu,
        }
    }
}

/// tansu from PATH, or where `cargo install` puts it (as `cargo xtask` does).
fn tansu_binary() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join("tansu"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .map(|home| home.join("bin").join("tansu"));
    on_path
        .into_iter()
        .chain(cargo_home)
        .find(|candidate| candidate.is_file())
        .expect("this test runs a broker of its own and needs tansu: `cargo xtask test` installs it, or `cargo install tansu --locked --features dynostore`")
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

async fn pending(ctx: &TestContext) -> i64 {
    let mut conn = ctx.pool.acquire().await.expect("connection");
    outbox::backlog(&mut conn).await.expect("backlog").pending
}

#[tokio::test]
async fn events_wait_out_a_broker_outage_and_none_is_lost() {
    let broker = PrivateBroker::start().await;
    let ctx = TestContext::with_brokers(&broker.proxy.addr().to_string()).await;
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

    broker.proxy.disable();
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
        "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND last_error IS NOT NULL",
    )
    .fetch_one(&ctx.pool)
    .await
    .unwrap();
    assert!(tried > 0, "the relay kept trying");

    broker.proxy.enable();
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
