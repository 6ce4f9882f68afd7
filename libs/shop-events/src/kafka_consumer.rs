//! The librdkafka consumer behind an [`EventConsumer`](crate::EventConsumer): its settings,
//! and its context, which turns librdkafka's statistics into the `consumer_lag` gauge and
//! its rebalances into the consumer's [`Assignment`].

use crate::assignment::Assignment;
use crate::{DetachedConsumer, EventsError, KafkaConfig, kafka};
use rdkafka::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::statistics::Statistics;

/// A new librdkafka consumer in `group_id` (a broker name), subscribed to `topics`, that
/// reports its partitions to `assignment` from now on.
pub(crate) fn subscribed_consumer(
    kafka: &KafkaConfig,
    group_id: &str,
    topics: &[String],
    assignment: &Assignment,
) -> Result<DetachedConsumer<ConsumerStats>, EventsError> {
    let consumer = group_consumer(kafka, group_id, assignment)?;
    subscribe(&consumer, topics, assignment)?;
    Ok(consumer)
}

/// Subscribes `consumer` (from [`group_consumer`]) to `topics`: it joins its group, and
/// reports its partitions to `assignment` from now on.
pub(crate) fn subscribe(
    consumer: &DetachedConsumer<ConsumerStats>,
    topics: &[String],
    assignment: &Assignment,
) -> Result<(), EventsError> {
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    consumer.subscribe(&names)?;
    assignment.take_over(consumer.context().client_id);
    Ok(())
}

/// A new librdkafka consumer for `group_id`, not subscribed yet (not in the group).
pub(crate) fn group_consumer(
    kafka: &KafkaConfig,
    group_id: &str,
    assignment: &Assignment,
) -> Result<DetachedConsumer<ConsumerStats>, EventsError> {
    let client_id = assignment.issue_client_id();
    let consumer: StreamConsumer<ConsumerStats> = kafka::client_config(kafka)
        .set("group.id", group_id)
        .set("client.id", group_id)
        // Offsets are committed by hand, after the database commit.
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        // Cooperative rebalancing (#13): a rebalance moves only the partitions that change
        // hands, the others keep being consumed meanwhile. The rebalance callbacks then
        // report increments (see `post_rebalance`), and a client holding no partitions
        // must unsubscribe to leave its group (see `closing::close_on_own_thread`).
        .set("partition.assignment.strategy", "cooperative-sticky")
        .set(
            "fetch.wait.max.ms",
            kafka.fetch_wait.as_millis().to_string(),
        )
        .set(
            "statistics.interval.ms",
            kafka.statistics_interval.as_millis().to_string(),
        )
        .create_with_context(ConsumerStats {
            group: group_id.to_owned(),
            assignment: assignment.clone(),
            client_id,
        })?;
    Ok(DetachedConsumer::new(consumer))
}

/// Turns librdkafka's periodic statistics into the `consumer_lag` gauge, and its
/// rebalances into the consumer's [`Assignment`].
pub(crate) struct ConsumerStats {
    group: String,
    assignment: Assignment,
    client_id: u64,
}

impl ClientContext for ConsumerStats {
    fn stats(&self, statistics: Statistics) {
        for (topic, stats) in &statistics.topics {
            for (partition, stats) in &stats.partitions {
                // Partition -1 is librdkafka's internal queue; -1 lag means "not known yet".
                if *partition >= 0 && stats.consumer_lag >= 0 {
                    metrics::gauge!(
                        "consumer_lag",
                        "group" => self.group.clone(),
                        "topic" => topic.clone(),
                        "partition" => partition.to_string(),
                    )
                    .set(stats.consumer_lag as f64);
                }
            }
        }
    }
}

impl ConsumerContext for ConsumerStats {
    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        // Under the cooperative protocol `Assign` and `Revoke` list only the partitions
        // added or taken away; rdkafka's `rebalance` has applied them (incremental_assign,
        // incremental_unassign) before this runs, so the client's assignment is the total.
        let held = consumer.assignment().map_or(0, |held| held.count());
        match rebalance {
            Rebalance::Assign(partitions) => {
                tracing::info!(group = %self.group, added = partitions.count(), held, "partitions assigned");
                self.assignment.set(self.client_id, held);
            }
            Rebalance::Revoke(partitions) => {
                tracing::info!(group = %self.group, removed = partitions.count(), held, "partitions revoked");
                self.assignment.set(self.client_id, held);
            }
            Rebalance::Error(error) => {
                tracing::warn!(group = %self.group, %error, "rebalance failed");
            }
        }
    }
}
