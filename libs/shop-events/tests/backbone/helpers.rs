//! What every backbone test needs: a fresh database with the backbone's tables, topics of
//! its own on the shared broker, a trace-aware subscriber, and ways to look at topics.

use opentelemetry::trace::TracerProvider as _;
use rdkafka::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use shop_events::{DetachedConsumer, Envelope, KafkaConfig};
use shop_testing::TestDatabase;
use sqlx::PgPool;
use std::sync::Once;
use std::time::{Duration, Instant};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// How long a test waits for something that should happen within seconds.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// The broker tests use: `KAFKA_BROKERS`, or the local one.
pub fn brokers() -> String {
    std::env::var("KAFKA_BROKERS")
        .ok()
        .filter(|brokers| !brokers.trim().is_empty())
        .unwrap_or_else(|| "127.0.0.1:9092".to_owned())
}

/// Spans get real OpenTelemetry trace ids (nothing is exported), and trace context travels
/// as W3C `traceparent`, as in the services.
pub fn init_tracing() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        opentelemetry::global::set_text_map_propagator(
            opentelemetry_sdk::propagation::TraceContextPropagator::new(),
        );
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
        let tracer = provider.tracer("shop-events-tests");
        // Logs only when asked for (`RUST_LOG=shop_events=debug`), to the test's output.
        let logs = std::env::var_os("RUST_LOG").map(|_| {
            tracing_subscriber::fmt::layer()
                .with_test_writer()
                .with_filter(tracing_subscriber::EnvFilter::from_default_env())
        });
        let _ = tracing_subscriber::registry()
            .with(logs)
            .with(
                tracing_opentelemetry::layer()
                    .with_tracer(tracer)
                    .with_filter(tracing_subscriber::filter::LevelFilter::INFO),
            )
            .try_init();
        shop_telemetry::metrics::install_recorder();
    });
}

/// One test's world: its database (the `orders` service's role and schema, with the
/// backbone's tables) and its own topics on the broker.
pub struct TestContext {
    /// Dropped with the context, and the database with it.
    _db: TestDatabase,
    pub pool: PgPool,
    pub kafka: KafkaConfig,
}

impl TestContext {
    pub async fn new() -> Self {
        Self::with_brokers(&brokers()).await
    }

    pub async fn with_brokers(brokers: &str) -> Self {
        init_tracing();
        let db = TestDatabase::create().await.expect("test database");
        let pool =
            shop_db::pool(&shop_db::DbConfig::new(db.url_for("orders"), "orders")).expect("pool");
        shop_events::migrate(&pool)
            .await
            .expect("backbone migrations");
        sqlx::raw_sql(
            "CREATE TABLE seen (event_id uuid NOT NULL, type text NOT NULL, trace_id text)",
        )
        .execute(&pool)
        .await
        .expect("the handler's table");
        let mut kafka = KafkaConfig::new(brokers);
        kafka.topic_prefix = format!("test-{}.", uuid::Uuid::new_v4().simple());
        kafka.topic_partitions = 2;
        shop_events::topics::ensure(&kafka)
            .await
            .expect("topics created");
        Self {
            _db: db,
            pool,
            kafka,
        }
    }

    /// The broker's name of a topic of the contract, with this test's prefix.
    pub fn topic(&self, name: &str) -> String {
        self.kafka.topic(name)
    }

    /// Rows in the handler's table.
    pub async fn seen(&self) -> Vec<(uuid::Uuid, String, Option<String>)> {
        sqlx::query_as("SELECT event_id, type, trace_id FROM seen ORDER BY event_id")
            .fetch_all(&self.pool)
            .await
            .expect("seen")
    }

    /// Waits until the handler's table has `count` rows.
    pub async fn wait_until_seen(&self, count: usize) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let seen = self.seen().await.len();
            if seen >= count {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "only {seen} of {count} events were handled within {PATIENCE:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Publishes `envelope` straight to its topic, as the relay would (bypassing the outbox).
    pub async fn produce(&self, envelope: &Envelope) {
        let payload = envelope.to_json().expect("json");
        self.produce_raw(&self.topic(envelope.topic()), &envelope.key(), &payload)
            .await;
    }

    /// Publishes any bytes to a topic (a broker name, prefix included).
    pub async fn produce_raw(&self, topic: &str, key: &str, payload: &[u8]) {
        let producer: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", &self.kafka.brokers)
            .create()
            .expect("producer");
        producer
            .send(
                FutureRecord::to(topic)
                    .key(key)
                    .payload(payload)
                    .headers(OwnedHeaders::new()),
                Duration::from_secs(5),
            )
            .await
            .map_err(|(error, _)| error)
            .expect("produced");
    }

    /// Every message with `key` in a topic (a broker name), as far as the broker has them:
    /// a sentinel with the same key (so in the same partition, after them) marks the end.
    /// Broker watermarks would be simpler, but tansu's are not exact.
    pub async fn read_all_with_key(&self, topic: &str, key: &str) -> Vec<OwnedMessage> {
        const SENTINEL: &[u8] = b"end of test";
        self.produce_raw(topic, key, SENTINEL).await;
        let messages = self
            .read_until(topic, |messages| {
                messages
                    .iter()
                    .any(|message| message.payload() == Some(SENTINEL))
            })
            .await;
        messages
            .into_iter()
            .filter(|message| message.key() == Some(key.as_bytes()))
            .filter(|message| message.payload() != Some(SENTINEL))
            .collect()
    }

    /// Reads `count` messages from a topic (a broker name), from its beginning.
    pub async fn read(&self, topic: &str, count: usize) -> Vec<OwnedMessage> {
        self.read_until(topic, |messages| messages.len() >= count)
            .await
    }

    /// Reads a topic (a broker name) from its beginning until `done` says so.
    pub async fn read_until(
        &self,
        topic: &str,
        done: impl Fn(&[OwnedMessage]) -> bool,
    ) -> Vec<OwnedMessage> {
        let consumer: StreamConsumer = ClientConfig::new()
            .set("bootstrap.servers", &self.kafka.brokers)
            .set(
                "group.id",
                self.kafka
                    .group(&format!("reader-{}", uuid::Uuid::new_v4())),
            )
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            .create()
            .expect("reader");
        // Detached: dropping a consumer that is still joining its group can hang.
        let consumer = DetachedConsumer::new(consumer);
        consumer.subscribe(&[topic]).expect("subscribed");
        let mut messages = Vec::new();
        let deadline = Instant::now() + PATIENCE;
        while !done(&messages) {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, consumer.recv()).await {
                Ok(Ok(message)) => messages.push(message.detach()),
                Ok(Err(error)) => panic!("cannot read {topic}: {error}"),
                Err(_) => panic!(
                    "{topic} did not have what the test expects within {PATIENCE:?}; it had {} messages",
                    messages.len()
                ),
            }
        }
        messages
    }
}

/// A header of a message, as text.
pub fn header(message: &OwnedMessage, name: &str) -> Option<String> {
    let headers = message.headers()?;
    headers
        .iter()
        .find(|header| header.key == name)
        .and_then(|header| header.value)
        .map(|value| String::from_utf8_lossy(value).into_owned())
}

/// The value of a counter or gauge with these labels in the Prometheus output, 0 if absent.
pub fn metric(name: &str, labels: &[(&str, &str)]) -> f64 {
    let rendered = shop_telemetry::metrics::render();
    rendered
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.rsplit_once(' '))
        .find(|(series, _)| {
            let (metric, series_labels) = series.split_once('{').unwrap_or((series, ""));
            metric == name
                && labels
                    .iter()
                    .all(|(key, value)| series_labels.contains(&format!("{key}=\"{value}\"")))
        })
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0.0)
}

/// Polls `condition` until it holds, failing the test with `what` after [`PATIENCE`].
pub async fn eventually<F, Fut>(what: &str, condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    eventually_within(PATIENCE, what, condition).await;
}

/// Polls `condition` until it holds, failing the test with `what` after `patience`.
pub async fn eventually_within<F, Fut>(patience: Duration, what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + patience;
    while !condition().await {
        assert!(
            Instant::now() < deadline,
            "timed out after {patience:?} waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
