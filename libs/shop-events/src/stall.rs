//! Noticing a consumer that its Kafka client left stuck.
//!
//! After the broker lost everything (a new cluster, a wiped volume, an in-memory broker
//! restarted), the topics are made again under the same names but with new topic ids. A
//! librdkafka client that knew the old ones keeps fetching them, hears that they are
//! unknown, and never takes up the new ones (librdkafka does not yet follow a topic id
//! changing under a live client: confluentinc/librdkafka#4898). It reports no error: events
//! wait, and the group's offsets move nowhere. A new client is the cure.
//!
//! The check is made from outside, by a client made for it (which knows only the topics as
//! they are now): when the consumer received nothing for a whole interval, it reads each
//! subscribed partition's end and the group's committed offset. Two checks in a row that
//! find a partition with events past the committed offset, and that offset not moved, mean
//! nobody in the group is consuming it: stuck.
//!
//! A replica of the group busy on a slow handler for a whole interval looks the same to an
//! idle one, which then makes a new client: a needless rebalance, never a lost or doubled
//! event (offsets are committed after the database, and redeliveries are recognised).

use crate::{EventsError, KafkaConfig, kafka};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::time::Duration;

/// How long one look at the broker may take.
const LOOK_TIMEOUT: Duration = Duration::from_secs(5);

/// A partition: topic (the broker's name) and number.
type Partition = (String, i32);

/// Watches one consumer between its messages (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct StallWatch {
    /// Whether a message arrived since the last check.
    received: bool,
    /// The committed offsets of the partitions that were behind at the last check.
    behind: Option<BTreeMap<Partition, i64>>,
}

impl StallWatch {
    /// A message arrived: the consumer is not stuck.
    pub(crate) fn received(&mut self) {
        self.received = true;
    }

    /// Whether the group is stuck: events wait on a partition whose committed offset did
    /// not move since the last check, and this consumer received nothing meanwhile. A
    /// broker that cannot be asked says nothing: not stuck.
    pub(crate) async fn is_stuck(
        &mut self,
        kafka: &KafkaConfig,
        group_id: &str,
        topics: &[String],
    ) -> bool {
        if std::mem::take(&mut self.received) {
            self.behind = None;
            return false;
        }
        let behind = match partitions_behind(kafka, group_id, topics).await {
            Ok(behind) => behind,
            Err(error) => {
                tracing::debug!(%error, group = %group_id, "cannot look at the group's offsets");
                self.behind = None;
                return false;
            }
        };
        let stuck: Vec<&Partition> = match &self.behind {
            Some(before) => behind
                .iter()
                .filter(|(partition, committed)| before.get(*partition) == Some(committed))
                .map(|(partition, _)| partition)
                .collect(),
            None => Vec::new(),
        };
        if stuck.is_empty() {
            self.behind = Some(behind);
            return false;
        }
        tracing::warn!(group = %group_id, partitions = ?stuck, "events wait and the group's offsets do not move: the consumer is stuck");
        self.behind = None;
        true
    }
}

/// The subscribed partitions with events past the group's committed offset (or past their
/// start, where the group committed none), with that offset.
async fn partitions_behind(
    kafka: &KafkaConfig,
    group_id: &str,
    topics: &[String],
) -> Result<BTreeMap<Partition, i64>, EventsError> {
    let client: BaseConsumer = kafka::client_config(kafka)
        .set("group.id", group_id)
        .set("enable.auto.commit", "false")
        .create()?;
    let topics = topics.to_vec();
    tokio::task::spawn_blocking(move || {
        let mut partitions = TopicPartitionList::new();
        for topic in &topics {
            let metadata = client.fetch_metadata(Some(topic), LOOK_TIMEOUT)?;
            for found in metadata.topics() {
                if found.error().is_some() {
                    continue; // missing: recreating topics is the consumer loop's business
                }
                for partition in found.partitions() {
                    partitions.add_partition(found.name(), partition.id());
                }
            }
        }
        let committed = client.committed_offsets(partitions, LOOK_TIMEOUT)?;
        let mut behind = BTreeMap::new();
        for element in committed.elements() {
            let (low, high) =
                client.fetch_watermarks(element.topic(), element.partition(), LOOK_TIMEOUT)?;
            let position = match element.offset() {
                Offset::Offset(offset) => offset,
                _ => low,
            };
            if high > position {
                behind.insert((element.topic().to_owned(), element.partition()), position);
            }
        }
        Ok(behind)
    })
    .await?
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::producer::{FutureProducer, FutureRecord};

    /// The shared test broker, with topics and groups of this test's own.
    fn own_prefix_on_the_shared_broker() -> KafkaConfig {
        let mut kafka = KafkaConfig::new(shop_testing::kafka_brokers());
        kafka.topic_prefix = shop_testing::unique_topic_prefix();
        kafka
    }

    async fn topic_with_events(kafka: &KafkaConfig, events: usize) -> String {
        let topic = kafka.topic("stall.events");
        crate::topics::create(kafka, &[&topic])
            .await
            .expect("topic");
        let producer: FutureProducer = kafka::client_config(kafka).create().expect("producer");
        for n in 0..events {
            let payload = n.to_string();
            producer
                .send(
                    FutureRecord::to(&topic).key("k").payload(&payload),
                    Duration::from_secs(5),
                )
                .await
                .expect("produced");
        }
        topic
    }

    #[tokio::test]
    async fn a_group_that_leaves_waiting_events_alone_is_stuck_at_the_second_look() {
        let kafka = own_prefix_on_the_shared_broker();
        let topics = [topic_with_events(&kafka, 3).await];
        let group = kafka.group("idle");
        let mut watch = StallWatch::default();

        assert!(
            !watch.is_stuck(&kafka, &group, &topics).await,
            "the first look only notes the offsets"
        );
        assert!(
            watch.is_stuck(&kafka, &group, &topics).await,
            "events wait and the offsets did not move"
        );

        // A message received between two looks starts the count again.
        watch.received();
        assert!(!watch.is_stuck(&kafka, &group, &topics).await);
        assert!(!watch.is_stuck(&kafka, &group, &topics).await);
        assert!(watch.is_stuck(&kafka, &group, &topics).await);
    }

    #[tokio::test]
    async fn a_group_with_nothing_waiting_is_never_stuck() {
        let kafka = own_prefix_on_the_shared_broker();
        let topics = [topic_with_events(&kafka, 0).await];
        let group = kafka.group("idle");
        let mut watch = StallWatch::default();
        for _ in 0..3 {
            assert!(!watch.is_stuck(&kafka, &group, &topics).await);
        }
    }

    #[tokio::test]
    async fn a_broker_that_does_not_answer_says_nothing() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let kafka = KafkaConfig::new(format!("127.0.0.1:{port}"));
        let mut watch = StallWatch::default();
        for _ in 0..2 {
            assert!(
                !watch
                    .is_stuck(&kafka, "nobody", &["nowhere".to_owned()])
                    .await
            );
        }
    }
}
