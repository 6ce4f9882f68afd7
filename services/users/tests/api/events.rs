//! `UserRegistered` on `users.events`: one event per account created, none for a
//! registration that fails, and none lost while the broker is away.

use crate::helpers::{ADMIN_EMAIL, PASSWORD, TestApp, spawn_app, start};
use opentelemetry::trace::TracerProvider as _;
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message, OwnedMessage};
use serde_json::{Value, json};
use shop_events::{Envelope, Event, topics};
use shop_testing::TestDatabase;
use std::sync::Once;
use std::time::{Duration, Instant};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use users::config::SCHEMA;
use uuid::Uuid;

/// How long a test waits for what should happen within a second or two.
const PATIENCE: Duration = Duration::from_secs(30);

#[tokio::test]
async fn registering_publishes_one_user_registered_keyed_by_the_user() {
    init_tracing();
    let app = spawn_app().await;
    // The caller's trace, which the event must carry on.
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";

    let response = app
        .service
        .http
        .post(app.service.url("/v1/users"))
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .json(&json!({"email": "ada@example.com", "name": "Ada Lovelace", "password": PASSWORD}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 201);
    let user: Value = response.json().await.expect("user");
    let user_id: Uuid = user["id"].as_str().expect("id").parse().expect("uuid");

    let messages = published(&app).await;
    let ada: Vec<&OwnedMessage> = messages
        .iter()
        .filter(|message| message.key() == Some(user_id.to_string().as_bytes()))
        .collect();
    assert_eq!(ada.len(), 1, "exactly one event keyed by the user id");
    let message = ada[0];
    let envelope = Envelope::from_json(message.payload().expect("a payload")).expect("an envelope");
    assert_eq!(envelope.source, "users");
    assert_eq!(envelope.subject, user_id.to_string());
    let Event::UserRegistered(registered) = envelope.event else {
        panic!("not a UserRegistered: {envelope:?}");
    };
    assert_eq!(registered.user_id, user_id);
    assert_eq!(registered.email, "ada@example.com");
    assert_eq!(registered.name, "Ada Lovelace");
    assert_eq!(
        header(message, "event-type").as_deref(),
        Some("UserRegistered")
    );
    assert_eq!(header(message, "event-id"), Some(envelope.id.to_string()));
    let traceparent = header(message, "traceparent").expect("a traceparent header");
    assert!(
        traceparent.starts_with(&format!("00-{trace_id}-")),
        "{traceparent} does not continue the request's trace"
    );

    // The only other event announces the administrator created at start-up.
    assert_eq!(messages.len(), 2, "{:?}", keys(&messages));
    let admin = messages
        .iter()
        .find(|other| other.key() != message.key())
        .and_then(Message::payload)
        .expect("the admin's event");
    let admin = Envelope::from_json(admin).expect("an envelope");
    assert!(
        matches!(&admin.event, Event::UserRegistered(admin) if admin.email == ADMIN_EMAIL),
        "{admin:?}"
    );
}

#[tokio::test]
async fn a_failed_registration_publishes_nothing() {
    init_tracing();
    let app = spawn_app().await;
    assert_eq!(
        app.register("ada@example.com", "Ada", PASSWORD)
            .await
            .status(),
        201
    );

    let taken = app.register("ADA@example.com", "Someone else", PASSWORD);
    assert_eq!(taken.await.status(), 409);
    let invalid = app.register("not-an-email", "Someone else", PASSWORD);
    assert_eq!(invalid.await.status(), 422);

    let outbox: i64 = sqlx::query_scalar("SELECT count(*) FROM users.outbox")
        .fetch_one(&app.pool().await)
        .await
        .expect("count");
    assert_eq!(outbox, 2, "the admin's event and Ada's, nothing else");
    let messages = published(&app).await;
    assert_eq!(messages.len(), 2, "{:?}", keys(&messages));
}

#[tokio::test]
async fn without_a_broker_the_service_starts_and_events_wait_in_the_outbox() {
    let db = TestDatabase::create().await.expect("test database");
    let service = start(&[
        ("DATABASE_URL", db.url_for(SCHEMA)),
        ("KAFKA_BROKERS", closed_address()),
    ])
    .await
    .expect("the service starts without its broker");

    let registered = service
        .http
        .post(service.url("/v1/users"))
        .json(&json!({"email": "ada@example.com", "name": "Ada", "password": PASSWORD}))
        .send()
        .await
        .expect("request");
    assert_eq!(registered.status(), 201, "registering needs no broker");

    // Degraded, not unready: the API works, the events wait.
    let ready = service.get("/health/ready").await;
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.expect("a report");
    assert_eq!(body["status"], "degraded", "{body}");
    assert_ne!(
        body["checks"]["broker"], "ok",
        "the broker is named: {body}"
    );
    assert_eq!(body["checks"]["database"], "ok", "{body}");

    let pool = sqlx::PgPool::connect(&db.url_for(SCHEMA))
        .await
        .expect("pool");
    let waiting: i64 =
        sqlx::query_scalar("SELECT count(*) FROM users.outbox WHERE sent_at IS NULL")
            .fetch_one(&pool)
            .await
            .expect("count");
    assert_eq!(waiting, 1, "the event waits for the broker");
}

/// An address where nothing listens.
fn closed_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").to_string()
}

/// Every message on the app's `users.events`, once the outbox has nothing left to publish.
async fn published(app: &TestApp) -> Vec<OwnedMessage> {
    let pool = app.pool().await;
    let deadline = Instant::now() + PATIENCE;
    loop {
        let unsent: i64 =
            sqlx::query_scalar("SELECT count(*) FROM users.outbox WHERE sent_at IS NULL")
                .fetch_one(&pool)
                .await
                .expect("count");
        if unsent == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{unsent} events still unpublished after {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let topic = app.kafka.topic(topics::USERS);
    let count = message_count(&app.kafka.brokers, &topic).await;
    read(app, &topic, count).await
}

/// Messages in `topic`, from its watermarks.
async fn message_count(brokers: &str, topic: &str) -> usize {
    let client: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .expect("client");
    let topic = topic.to_owned();
    tokio::task::spawn_blocking(move || {
        let timeout = Duration::from_secs(5);
        let metadata = client
            .fetch_metadata(Some(&topic), timeout)
            .expect("metadata");
        let partitions = metadata.topics().first().expect("the topic").partitions();
        partitions
            .iter()
            .map(|partition| {
                let (low, high) = client
                    .fetch_watermarks(&topic, partition.id(), timeout)
                    .expect("watermarks");
                usize::try_from(high - low).expect("a count")
            })
            .sum()
    })
    .await
    .expect("the watermarks task")
}

/// The first `count` messages of `topic`.
async fn read(app: &TestApp, topic: &str, count: usize) -> Vec<OwnedMessage> {
    let group = app.kafka.topic(&format!("reader-{}", Uuid::new_v4()));
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &app.kafka.brokers)
        .set("group.id", &group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .expect("reader");
    // Detached: dropping a consumer that is still joining its group can hang.
    let consumer = shop_events::DetachedConsumer::new(consumer);
    consumer.subscribe(&[topic]).expect("subscribed");
    let deadline = Instant::now() + PATIENCE;
    let mut messages = Vec::new();
    while messages.len() < count {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, consumer.recv()).await {
            Ok(Ok(message)) => messages.push(message.detach()),
            Ok(Err(error)) => panic!("cannot read {topic}: {error}"),
            Err(_) => panic!(
                "{} of {count} messages read from {topic} within {PATIENCE:?}",
                messages.len()
            ),
        }
    }
    messages
}

fn header(message: &OwnedMessage, key: &str) -> Option<String> {
    let headers = message.headers()?;
    let header = headers.iter().find(|header| header.key == key)?;
    Some(String::from_utf8_lossy(header.value?).into_owned())
}

fn keys(messages: &[OwnedMessage]) -> Vec<String> {
    messages
        .iter()
        .map(|message| String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned())
        .collect()
}

/// Spans get OpenTelemetry trace ids (nothing is exported) and trace context travels as
/// W3C `traceparent`, as in the service: what the outbox saves with each event.
fn init_tracing() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        opentelemetry::global::set_text_map_propagator(
            opentelemetry_sdk::propagation::TraceContextPropagator::new(),
        );
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
        let _ = tracing_subscriber::registry()
            .with(tracing_subscriber::filter::LevelFilter::INFO)
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("users-tests")))
            .try_init();
    });
}
