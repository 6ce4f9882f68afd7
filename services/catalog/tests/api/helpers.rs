use catalog::app;
use catalog::config::{Config, SCHEMA};
use rdkafka::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use reqwest::{Method, Response};
use serde_json::{Value, json};
use shop_auth::Role;
use shop_auth::testing::TestIssuer;
use shop_db::DbConfig;
use shop_events::event::Event;
use shop_events::{DetachedConsumer, Envelope, KafkaConfig, topics};
use shop_server::{Env, ServerConfig};
use shop_testing::{RunningService, TcpProxy, TestDatabase};
use sqlx::PgPool;
use sqlx::types::Json;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use uuid::Uuid;

/// How long a test waits for something that should happen within seconds.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// The service under test, its own database, the proxy between them, the issuer of the
/// tokens it accepts, and topics of its own on the shared broker.
pub struct TestApp {
    pub service: RunningService,
    pub db_proxy: TcpProxy,
    /// Signs tokens and serves the JWKS the service verifies them with.
    pub issuer: TestIssuer,
    /// The catalog's schema, as the service's own role: for setting up and checking state.
    pub pool: PgPool,
    /// The service's broker and this test's topic prefix.
    pub kafka: KafkaConfig,
    producer: FutureProducer,
    /// Dropped with the test, which drops the database.
    #[allow(dead_code)]
    pub db: TestDatabase,
}

/// Starts the service, with the demo catalog seeded, on a random port against a fresh
/// database reached through a proxy, and the shared broker with a topic prefix of its own.
pub async fn spawn_app() -> TestApp {
    spawn_app_with_brokers(&shop_testing::kafka_brokers()).await
}

/// Like [`spawn_app`], with the service's `KAFKA_BROKERS` set to `brokers`.
pub async fn spawn_app_with_brokers(brokers: &str) -> TestApp {
    let db = TestDatabase::create().await.expect("test database");
    let db_proxy = TcpProxy::start(db.server_addr()).await.expect("proxy");
    let issuer = TestIssuer::start().await;
    let env = Env::from_pairs([
        ("DATABASE_URL", db.url_for_via(SCHEMA, db_proxy.addr())),
        ("JWKS_URL", issuer.jwks_url()),
        ("KAFKA_BROKERS", brokers.to_owned()),
    ]);
    let mut config = Config::from_env(&env).expect("config");
    config.server = ServerConfig::ephemeral();
    config.kafka.topic_prefix = shop_testing::unique_topic_prefix();
    let kafka = config.kafka.clone();
    let app = app::build(config).await.expect("the service starts");
    let pool = shop_db::pool(&DbConfig::new(db.url_for(SCHEMA), SCHEMA)).expect("pool");
    let producer = ClientConfig::new()
        .set("bootstrap.servers", &kafka.brokers)
        .set("message.timeout.ms", "10000")
        .create()
        .expect("a producer");
    TestApp {
        service: RunningService::spawn(app),
        db_proxy,
        issuer,
        pool,
        kafka,
        producer,
        db,
    }
}

impl TestApp {
    pub fn admin_token(&self) -> String {
        self.issuer.token(Uuid::now_v7(), Role::Admin)
    }

    pub fn customer_token(&self) -> String {
        self.issuer.token(Uuid::now_v7(), Role::Customer)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.service.get(path).await
    }

    /// A request with an optional bearer token and JSON body.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Response {
        let mut request = self
            .service
            .http
            .request(method.clone(), self.service.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path} failed: {e}"))
    }

    /// `PUT` to a product as an admin's client does: with `If-Match` naming the version
    /// just read (`*` where there is nothing to read).
    pub async fn replace(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        let read = self.get(path).await;
        let version = read
            .headers()
            .get(reqwest::header::ETAG)
            .map(|tag| tag.to_str().expect("an ASCII ETag").to_owned())
            .unwrap_or_else(|| "*".to_owned());
        self.replace_if_match(path, token, &version, body).await
    }

    /// `PUT` to a product with `If-Match: version`, whatever the product's version is now.
    pub async fn replace_if_match(
        &self,
        path: &str,
        token: Option<&str>,
        version: &str,
        body: &Value,
    ) -> Response {
        let mut request = self
            .service
            .http
            .put(self.service.url(path))
            .header(reqwest::header::IF_MATCH, version)
            .json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request
            .send()
            .await
            .unwrap_or_else(|e| panic!("PUT {path} failed: {e}"))
    }

    /// Creates a product as an admin and returns it.
    pub async fn create_product(&self, body: &Value) -> Value {
        let token = self.admin_token();
        let response = self
            .send(Method::POST, "/v1/products", Some(&token), Some(body))
            .await;
        assert_eq!(response.status(), 201, "create {body}");
        response.json().await.expect("a product")
    }

    /// A product with `stock` units, created as an admin; returns its id.
    pub async fn product_with_stock(&self, sku: &str, stock: i32) -> Uuid {
        let mut body = product_body(sku);
        body["stock"] = json!(stock);
        let product = self.create_product(&body).await;
        product["id"]
            .as_str()
            .expect("an id")
            .parse()
            .expect("a uuid")
    }

    pub async fn stock_of(&self, product_id: Uuid) -> i32 {
        sqlx::query_scalar!(
            "SELECT stock FROM catalog.products WHERE id = $1",
            product_id
        )
        .fetch_one(&self.pool)
        .await
        .expect("the product's stock")
    }

    /// A second instance of the service on the same database and broker topics: a replica,
    /// member of the same consumer group.
    pub async fn replica(&self) -> RunningService {
        let env = Env::from_pairs([
            ("DATABASE_URL", self.db.url_for(SCHEMA)),
            ("JWKS_URL", self.issuer.jwks_url()),
        ]);
        let mut config = Config::from_env(&env).expect("config");
        config.server = ServerConfig::ephemeral();
        config.kafka = self.kafka.clone();
        RunningService::spawn(app::build(config).await.expect("the replica starts"))
    }

    /// Publishes `event` on its topic as the orders service would; returns its envelope.
    pub async fn publish(&self, event: impl Into<Event>) -> Envelope {
        let envelope = Envelope::new("orders", event);
        self.publish_envelope(&envelope).await;
        envelope
    }

    /// Publishes `envelope` as it is: publishing one twice is a redelivery.
    pub async fn publish_envelope(&self, envelope: &Envelope) {
        self.publish_raw(
            envelope.topic(),
            &envelope.key(),
            &envelope.to_json().expect("json"),
        )
        .await;
    }

    /// Publishes any bytes on a topic of the contract (this test's copy of it).
    pub async fn publish_raw(&self, topic: &str, key: &str, payload: &[u8]) {
        let topic = self.kafka.topic(topic);
        self.producer
            .send(
                FutureRecord::to(&topic).key(key).payload(payload),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(error, _)| error)
            .expect("published");
    }

    /// Whether the service's consumer has processed the event with this id.
    pub async fn processed(&self, event_id: Uuid) -> bool {
        sqlx::query_scalar::<_, bool>(
            "SELECT EXISTS (SELECT 1 FROM catalog.processed_events WHERE event_id = $1)",
        )
        .bind(event_id)
        .fetch_one(&self.pool)
        .await
        .expect("processed events")
    }

    /// Waits until the service's consumer has processed these events.
    pub async fn wait_until_processed(&self, envelopes: &[&Envelope]) {
        for envelope in envelopes {
            eventually(&format!("{} is processed", envelope.event_type()), || {
                self.processed(envelope.id)
            })
            .await;
        }
    }

    /// Every event in the service's outbox (published or not), oldest first.
    pub async fn outbox(&self) -> Vec<Envelope> {
        sqlx::query_scalar::<_, Json<Envelope>>(
            "SELECT payload FROM catalog.outbox ORDER BY created_at, id",
        )
        .fetch_all(&self.pool)
        .await
        .expect("the outbox")
        .into_iter()
        .map(|Json(envelope)| envelope)
        .collect()
    }

    /// Reads everything the service publishes on `catalog.events`, from the beginning.
    pub fn catalog_events(&self) -> EventLog {
        EventLog::read(&self.kafka, &self.kafka.topic(topics::CATALOG))
    }
}

/// A message as it arrived: its Kafka key and the envelope it carries.
#[derive(Debug, Clone)]
pub struct Received {
    pub key: String,
    pub envelope: Envelope,
}

impl Received {
    pub fn event(&self) -> &Event {
        &self.envelope.event
    }
}

/// The messages of one topic, collected in the background from its beginning.
pub struct EventLog {
    topic: String,
    received: Arc<Mutex<Vec<Received>>>,
    reader: JoinHandle<()>,
}

impl EventLog {
    /// Starts reading every partition of `topic` (a broker name) from its beginning.
    pub fn read(kafka: &KafkaConfig, topic: &str) -> Self {
        let consumer = assigned_reader(kafka, topic);
        let received = Arc::new(Mutex::new(Vec::new()));
        let sink = received.clone();
        let reader = tokio::spawn(async move {
            loop {
                let message = match consumer.recv().await {
                    Ok(message) => message,
                    Err(error) => {
                        eprintln!("reader: {error}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let key = String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned();
                let envelope = Envelope::from_json(message.payload().unwrap_or_default())
                    .expect("every message is an envelope");
                sink.lock().expect("lock").push(Received { key, envelope });
            }
        });
        Self {
            topic: topic.to_owned(),
            received,
            reader,
        }
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }

    /// The messages that `select` picks, once there are `count` of them (there may be more
    /// later: check the outbox to be sure there are not).
    pub async fn wait_for(
        &self,
        count: usize,
        what: &str,
        select: impl Fn(&Received) -> bool,
    ) -> Vec<Received> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let selected: Vec<Received> = self.received().into_iter().filter(&select).collect();
            if selected.len() >= count {
                return selected;
            }
            assert!(
                Instant::now() < deadline,
                "only {} of {count} {what} arrived on {} within {PATIENCE:?}",
                selected.len(),
                self.topic
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for EventLog {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// The first `count` messages of `topic` (a broker name), as they are: key, headers, payload.
pub async fn read_raw(kafka: &KafkaConfig, topic: &str, count: usize) -> Vec<OwnedMessage> {
    let consumer = assigned_reader(kafka, topic);
    let mut messages = Vec::new();
    let deadline = Instant::now() + PATIENCE;
    while messages.len() < count {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, consumer.recv()).await {
            Ok(Ok(message)) => messages.push(message.detach()),
            Ok(Err(error)) => eprintln!("reading {topic}: {error}"),
            Err(_) => panic!(
                "only {} of {count} messages arrived on {topic} within {PATIENCE:?}",
                messages.len()
            ),
        }
    }
    messages
}

/// A consumer of every partition of `topic` from its beginning. Assigned partitions, not a
/// group subscription: nothing to join, nothing committed (librdkafka wants a group id all
/// the same).
fn assigned_reader(kafka: &KafkaConfig, topic: &str) -> DetachedConsumer {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &kafka.brokers)
        .set(
            "group.id",
            kafka.topic(&format!("reader-{}", Uuid::new_v4())),
        )
        .set("enable.auto.commit", "false")
        .create()
        .expect("a reader");
    let mut partitions = TopicPartitionList::new();
    for partition in 0..kafka.topic_partitions {
        partitions
            .add_partition_offset(topic, partition, Offset::Beginning)
            .expect("a partition");
    }
    consumer.assign(&partitions).expect("partitions assigned");
    // Detached: with a group id, dropping it closes as a group member, which can hang.
    DetachedConsumer::new(consumer)
}

/// Polls `condition` until it holds, failing the test with `what` after [`PATIENCE`].
pub async fn eventually<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + PATIENCE;
    while !condition().await {
        assert!(
            Instant::now() < deadline,
            "timed out after {PATIENCE:?} waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A valid create (or replace) body.
pub fn product_body(sku: &str) -> Value {
    json!({
        "sku": sku,
        "name": "Lighthouse Keeper's Thermos",
        "description": "Keeps soup hot through a long night watch on the breakwater.",
        "category_slug": "outdoor",
        "price": { "amount_minor": 2990, "currency": "EUR" },
        "stock": 12,
        "image_url": format!("/images/products/{sku}.svg"),
    })
}

/// The body of a problem+json response with this status.
pub async fn problem(response: Response, status: u16) -> Value {
    assert_eq!(response.status(), status, "status");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.expect("problem json");
    assert_eq!(body["status"], status, "{body}");
    body
}

/// The fields a validation problem names.
pub async fn invalid_fields(response: Response) -> Vec<String> {
    let body = problem(response, 422).await;
    assert_eq!(body["type"], "/problems/validation", "{body}");
    body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|error| error["field"].as_str().expect("a field").to_owned())
        .collect()
}
