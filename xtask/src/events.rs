//! `cargo xtask events tail <topic>`: print a topic's events as they arrive, for demos and
//! debugging. `orders.events` (or `orders`, `catalog`, `users`, or a `.dlq` topic).
//!
//! Reads from the beginning of the topic in a consumer group of its own that commits
//! nothing, so it never disturbs the services' consumers. Ctrl-C stops it.

use anyhow::{Context, bail};
use rdkafka::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message};

pub async fn run(args: &[String]) -> anyhow::Result<()> {
    let (Some("tail"), Some(topic)) = (args.first().map(String::as_str), args.get(1)) else {
        bail!(
            "usage: cargo xtask events tail <topic>   (orders.events, catalog, users.events.dlq, …)"
        );
    };
    let topic = if topic.contains('.') {
        topic.clone()
    } else {
        format!("{topic}.events")
    };
    let brokers = crate::broker::address();
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("group.id", format!("xtask-tail-{}", uuid::Uuid::new_v4()))
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .context("creating the Kafka consumer")?;
    consumer
        .subscribe(&[topic.as_str()])
        .with_context(|| format!("subscribing to {topic}"))?;
    eprintln!("tailing {topic} at {brokers} (Ctrl-C stops)");
    loop {
        let message = tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            message = consumer.recv() => message.context("reading from the broker")?,
        };
        let payload = message.payload().unwrap_or_default();
        let header = |name: &str| {
            message.headers().and_then(|headers| {
                headers
                    .iter()
                    .find(|h| h.key == name)
                    .and_then(|h| h.value)
                    .map(|v| String::from_utf8_lossy(v).into_owned())
            })
        };
        let key = message
            .key()
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .unwrap_or_default();
        println!(
            "── {topic}[{}]@{}  key={key}  traceparent={}",
            message.partition(),
            message.offset(),
            header(shop_events::headers::TRACEPARENT).unwrap_or_else(|| "-".into()),
        );
        if let Some(error) = header(shop_events::headers::ERROR) {
            println!("   error: {error}");
        }
        match shop_events::Envelope::from_json(payload) {
            Ok(envelope) => println!(
                "   {} from {}: {}",
                envelope.event_type(),
                envelope.source,
                envelope_json(&envelope)
            ),
            Err(_) => println!("   (not an envelope) {}", String::from_utf8_lossy(payload)),
        }
    }
}

fn envelope_json(envelope: &shop_events::Envelope) -> String {
    envelope
        .to_json()
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default()
}
