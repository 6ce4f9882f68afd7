//! Where the broker is and how topics are laid out.

use shop_config::{ConfigError, Env};
use std::time::Duration;

/// How a service reaches Kafka.
#[derive(Debug, Clone)]
pub struct KafkaConfig {
    /// `host:port[,host:port…]`, librdkafka's `bootstrap.servers`.
    pub brokers: String,
    /// Partitions of each topic [`topics::ensure`](crate::topics::ensure) creates.
    pub topic_partitions: i32,
    /// Put before every topic name and consumer group id, e.g. `test-1234.` (empty in the
    /// shop): lets tests, or several environments sharing one cluster, keep to their own.
    pub topic_prefix: String,
    /// How often librdkafka reports its statistics, which the `consumer_lag` gauge comes
    /// from: 15 s, as often as Prometheus scrapes by default (tests want it sooner).
    pub statistics_interval: Duration,
    /// librdkafka's `fetch.wait.max.ms` for consumers: how long the broker may hold a fetch
    /// that finds nothing new. Kafka answers as soon as a message arrives, so its default
    /// (500 ms) costs no latency there. tansu 0.6 sleeps out the rest of the wait even when
    /// it has messages (`tansu-storage` `service/fetch.rs`), which made each saga hop take
    /// ~400 ms: `cargo xtask up`, its tests and the bench set it lower for tansu.
    pub fetch_wait: Duration,
}

/// See [`KafkaConfig::statistics_interval`].
const STATISTICS_INTERVAL: Duration = Duration::from_secs(15);
/// See [`KafkaConfig::fetch_wait`]: librdkafka's own default.
const FETCH_WAIT: Duration = Duration::from_millis(500);

impl KafkaConfig {
    /// `KAFKA_BROKERS` (default `127.0.0.1:9092`), `KAFKA_TOPIC_PARTITIONS` (default 3) and
    /// `KAFKA_FETCH_WAIT_MS` (default 500).
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let config = Self {
            brokers: env.string("KAFKA_BROKERS", "127.0.0.1:9092"),
            topic_partitions: env.parse("KAFKA_TOPIC_PARTITIONS", 3)?,
            topic_prefix: String::new(),
            statistics_interval: STATISTICS_INTERVAL,
            fetch_wait: env.millis("KAFKA_FETCH_WAIT_MS", FETCH_WAIT)?,
        };
        if config.topic_partitions < 1 {
            return Err(ConfigError::Invalid {
                name: "KAFKA_TOPIC_PARTITIONS".into(),
                value: config.topic_partitions.to_string(),
                reason: "must be at least 1".into(),
            });
        }
        Ok(config)
    }

    /// A configuration for `brokers` with the defaults.
    pub fn new(brokers: impl Into<String>) -> Self {
        Self {
            brokers: brokers.into(),
            topic_partitions: 3,
            topic_prefix: String::new(),
            statistics_interval: STATISTICS_INTERVAL,
            fetch_wait: FETCH_WAIT,
        }
    }

    /// The topic name on the broker for a topic of the contract (`orders.events`).
    pub fn topic(&self, name: &str) -> String {
        format!("{}{name}", self.topic_prefix)
    }

    /// The consumer group id on the broker for a group named in code (`catalog`).
    pub fn group(&self, id: &str) -> String {
        format!("{}{id}", self.topic_prefix)
    }

    /// The dead-letter topic on the broker for a topic of the contract.
    pub fn dlq_topic(&self, name: &str) -> String {
        crate::topics::dlq(&self.topic(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_brokers_and_partitions_with_defaults() {
        let config = KafkaConfig::from_env(&Env::from_pairs::<&str, &str>([])).unwrap();
        assert_eq!(config.brokers, "127.0.0.1:9092");
        assert_eq!(config.topic_partitions, 3);
        let env = Env::from_pairs([("KAFKA_BROKERS", "k:1"), ("KAFKA_TOPIC_PARTITIONS", "6")]);
        let config = KafkaConfig::from_env(&env).unwrap();
        assert_eq!(
            (config.brokers.as_str(), config.topic_partitions),
            ("k:1", 6)
        );
        let zero = Env::from_pairs([("KAFKA_TOPIC_PARTITIONS", "0")]);
        assert!(KafkaConfig::from_env(&zero).is_err());
    }

    #[test]
    fn prefixes_topic_names() {
        let mut config = KafkaConfig::new("k:1");
        assert_eq!(config.topic("orders.events"), "orders.events");
        config.topic_prefix = "t1.".into();
        assert_eq!(config.topic("orders.events"), "t1.orders.events");
        assert_eq!(config.dlq_topic("orders.events"), "t1.orders.events.dlq");
        assert_eq!(config.group("catalog"), "t1.catalog");
    }
}
