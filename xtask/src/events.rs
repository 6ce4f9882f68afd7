//! `cargo xtask events tail <topic>`: print a topic's events as they arrive, for demos and
//! debugging. `orders.events` (or `orders`, `catalog`, `users`, or a `.dlq` topic).
//! Reads from the beginning of the topic in a consumer group of its own that commits
//! nothing, so it never disturbs the services' consumers. Ctrl-C stops it.
//!
//! `cargo xtask events redrive <topic>`: publishes what was dead-lettered from `topic`
//! (the messages of `<topic>.dlq`) to its original topic again, once the cause is fixed:
//! the saga steps they carry then happen after all. Each dead letter is redriven once (the
//! group `xtask-redrive` commits its offset after the publish is acknowledged); a letter
//! redriven twice or already processed changes nothing, since consumers are idempotent on
//! the event id, which is kept.

use anyhow::{Context, bail};
use rdkafka::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message};

const USAGE: &str = "usage: cargo xtask events <tail|redrive> <topic>   (orders.events, catalog, users.events.dlq, …)";

pub async fn run(args: &[String]) -> anyhow::Result<()> {
    let (Some(action), Some(topic)) = (args.first().map(String::as_str), args.get(1)) else {
        bail!("{USAGE}");
    };
    let topic = if topic.contains('.') {
        topic.clone()
    } else {
        format!("{topic}.events")
    };
    match action {
        "tail" => tail(&topic).await,
        "redrive" => {
            let topic = topic.strip_suffix(".dlq").unwrap_or(&topic);
            let brokers = crate::broker::address();
            let count = redrive(&brokers, topic, "xtask-redrive").await?;
            crate::progress::done(&format!(
                "{count} dead-lettered message(s) of {topic} published to it again"
            ));
            Ok(())
        }
        other => bail!("unknown action `{other}`\n{USAGE}"),
    }
}

/// Republishes every message of `<topic>.dlq` that `group` has not redriven yet to the
/// topic it was read from, without the dead-letter headers. Returns how many.
pub async fn redrive(brokers: &str, topic: &str, group: &str) -> anyhow::Result<usize> {
    use rdkafka::consumer::CommitMode;
    use rdkafka::producer::{FutureProducer, FutureRecord};
    use rdkafka::{Offset, TopicPartitionList};
    use shop_events::headers;
    use std::time::Duration;

    const TIMEOUT: Duration = Duration::from_secs(10);
    let dlq = shop_events::topics::dlq(topic);
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .context("creating the Kafka consumer")?;
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("enable.idempotence", "true")
        .create()
        .context("creating the Kafka producer")?;
    // librdkafka's metadata and offset look-ups block: off the async threads with them.
    let (start, mut left) = tokio::task::block_in_place(|| {
        use rdkafka::producer::Producer;
        let metadata = producer
            .client()
            .fetch_metadata(Some(&dlq), TIMEOUT)
            .with_context(|| format!("reading the metadata of {dlq}"))?;
        let partitions: Vec<i32> = metadata
            .topics()
            .iter()
            .flat_map(|t| t.partitions().iter().map(|p| p.id()))
            .collect();
        let mut wanted = TopicPartitionList::new();
        for &partition in &partitions {
            wanted.add_partition(&dlq, partition);
        }
        // Assigned, not subscribed: the group only keeps the offsets, nothing to rebalance.
        let committed = consumer.committed_offsets(wanted, TIMEOUT)?;
        let mut start = TopicPartitionList::new();
        let mut left = std::collections::BTreeMap::new();
        for &partition in &partitions {
            let from = match committed
                .find_partition(&dlq, partition)
                .map(|p| p.offset())
            {
                Some(Offset::Offset(offset)) => offset,
                _ => 0,
            };
            let (low, high) = consumer.fetch_watermarks(&dlq, partition, TIMEOUT)?;
            let from = from.max(low);
            if from < high {
                start.add_partition_offset(&dlq, partition, Offset::Offset(from))?;
                left.insert(partition, high);
            }
        }
        anyhow::Ok((start, left))
    })?;
    if left.is_empty() {
        return Ok(0);
    }
    consumer.assign(&start)?;
    let mut count = 0;
    while !left.is_empty() {
        let message = tokio::time::timeout(TIMEOUT, consumer.recv())
            .await
            .with_context(|| format!("{dlq}: no message within {TIMEOUT:?}"))??;
        let header = |name: &str| {
            message.headers().and_then(|all| {
                all.iter()
                    .find(|h| h.key == name)
                    .and_then(|h| h.value)
                    .map(|v| String::from_utf8_lossy(v).into_owned())
            })
        };
        let original = header(headers::ORIGINAL_TOPIC).unwrap_or_else(|| topic.to_owned());
        let dead_letter_headers = [
            headers::ERROR,
            headers::ORIGINAL_TOPIC,
            headers::ORIGINAL_PARTITION,
            headers::ORIGINAL_OFFSET,
        ];
        let mut forwarded = rdkafka::message::OwnedHeaders::new();
        if let Some(all) = message.headers() {
            for h in all.iter().filter(|h| !dead_letter_headers.contains(&h.key)) {
                forwarded = forwarded.insert(h);
            }
        }
        let mut record = FutureRecord::to(&original).headers(forwarded);
        if let Some(key) = message.key() {
            record = record.key(key);
        }
        if let Some(payload) = message.payload() {
            record = record.payload(payload);
        }
        producer
            .send(record, TIMEOUT)
            .await
            .map_err(|(error, _)| error)
            .with_context(|| format!("publishing to {original}"))?;
        let next = message.offset() + 1;
        let mut done = TopicPartitionList::new();
        done.add_partition_offset(&dlq, message.partition(), Offset::Offset(next))?;
        tokio::task::block_in_place(|| consumer.commit(&done, CommitMode::Sync))?;
        count += 1;
        if left
            .get(&message.partition())
            .is_some_and(|&high| next >= high)
        {
            left.remove(&message.partition());
        }
    }
    Ok(count)
}

async fn tail(topic: &str) -> anyhow::Result<()> {
    let topic = topic.to_owned();
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

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    use rdkafka::message::{Header, OwnedHeaders};
    use rdkafka::producer::{FutureProducer, FutureRecord};
    use rdkafka::{Offset, TopicPartitionList};
    use shop_events::headers;
    use std::time::Duration;

    /// Three dead letters go back to their topic, without the dead-letter headers but with
    /// their keys and event ids; a second redrive finds nothing left to do.
    #[tokio::test(flavor = "multi_thread")]
    async fn dead_letters_are_published_to_their_topic_again_once() {
        let broker = shop_testing::PrivateBroker::start().await.expect("broker");
        let brokers = broker.brokers();
        let client = |extra: &[(&str, &str)]| {
            let mut config = ClientConfig::new();
            config.set("bootstrap.servers", &brokers);
            for (key, value) in extra {
                config.set(*key, *value);
            }
            config
        };
        let admin: AdminClient<_> = client(&[]).create().expect("admin");
        let topic = "orders.events";
        let dlq = shop_events::topics::dlq(topic);
        admin
            .create_topics(
                &[
                    NewTopic::new(topic, 3, TopicReplication::Fixed(1)),
                    NewTopic::new(&dlq, 3, TopicReplication::Fixed(1)),
                ],
                &AdminOptions::new(),
            )
            .await
            .expect("topics");
        let producer: FutureProducer = client(&[]).create().expect("producer");
        for i in 0..3 {
            let (key, id) = (format!("order-{i}"), format!("event-{i}"));
            let dead_letter = OwnedHeaders::new()
                .insert(Header {
                    key: headers::EVENT_ID,
                    value: Some(&id),
                })
                .insert(Header {
                    key: headers::ERROR,
                    value: Some("catalog was down"),
                })
                .insert(Header {
                    key: headers::ORIGINAL_TOPIC,
                    value: Some(topic),
                });
            producer
                .send(
                    FutureRecord::to(&dlq)
                        .key(&key)
                        .payload(&id)
                        .headers(dead_letter),
                    Duration::from_secs(10),
                )
                .await
                .map_err(|(error, _)| error)
                .expect("dead letter written");
        }

        assert_eq!(
            redrive(&brokers, topic, "test-redrive")
                .await
                .expect("redrive"),
            3
        );
        assert_eq!(
            redrive(&brokers, topic, "test-redrive")
                .await
                .expect("again"),
            0,
            "each dead letter is redriven once"
        );

        let reader: StreamConsumer = client(&[("group.id", "test-reader")])
            .create()
            .expect("reader");
        let mut from_start = TopicPartitionList::new();
        for partition in 0..3 {
            from_start
                .add_partition_offset(topic, partition, Offset::Beginning)
                .expect("partition");
        }
        reader.assign(&from_start).expect("assign");
        let mut redriven = std::collections::BTreeMap::new();
        while redriven.len() < 3 {
            let message = tokio::time::timeout(Duration::from_secs(15), reader.recv())
                .await
                .expect("all three arrive")
                .expect("message");
            let names: Vec<&str> = message
                .headers()
                .map(|all| all.iter().map(|h| h.key).collect())
                .unwrap_or_default();
            assert!(!names.contains(&headers::ERROR) && !names.contains(&headers::ORIGINAL_TOPIC));
            assert!(names.contains(&headers::EVENT_ID), "{names:?}");
            let key = String::from_utf8_lossy(message.key().expect("key")).into_owned();
            let id = String::from_utf8_lossy(message.payload().expect("payload")).into_owned();
            redriven.insert(key, id);
        }
        assert_eq!(redriven["order-2"], "event-2");
        drop((reader, producer, admin));
    }
}
