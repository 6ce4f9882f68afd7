//! Topics and the broker readiness check.

use crate::helpers::{TestContext, brokers};
use shop_events::{KafkaConfig, broker_check, topics};
use std::time::{Duration, Instant};

#[tokio::test]
async fn ensuring_the_topics_again_changes_nothing() {
    let ctx = TestContext::new().await; // has ensured them once
    topics::ensure(&ctx.kafka).await.unwrap();
    let mut partitions_changed = ctx.kafka.clone();
    partitions_changed.topic_partitions = 5;
    topics::ensure(&partitions_changed).await.unwrap();
}

#[tokio::test]
async fn the_broker_check_passes_with_a_broker_and_fails_fast_without_one() {
    let check = broker_check(&KafkaConfig::new(brokers())).unwrap();
    check().await.unwrap();

    // Nothing listens on port 9 (discard) here.
    let check = broker_check(&KafkaConfig::new("127.0.0.1:9")).unwrap();
    let started = Instant::now();
    let error = check().await.unwrap_err();
    assert!(error.contains("does not answer"), "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}
