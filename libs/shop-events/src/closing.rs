//! Closing rdkafka clients without hanging whoever closes them.
//!
//! Dropping an rdkafka consumer that is in a group leaves the group first, and
//! rust-rdkafka waits for that without a limit (it polls until librdkafka reports the
//! consumer closed). A broker that stopped answering, or a group join still in flight,
//! can stretch that wait indefinitely, and the thread doing the drop hangs with it: a Tokio
//! worker during a graceful shutdown, or a test's runtime when the test ends. Destroying a
//! producer likewise joins librdkafka's threads, and flushing it waits for the broker.
//!
//! [`DetachedConsumer`] and [`DetachedProducer`] move that wait to a thread of their own.
//! Dropping them never blocks; `close` waits, but only as long as the caller allows.

use rdkafka::consumer::{Consumer, ConsumerContext, DefaultConsumerContext, StreamConsumer};
use rdkafka::producer::{FutureProducer, Producer};
use std::ops::Deref;
use std::time::Duration;
use tokio::sync::oneshot;

/// A [`StreamConsumer`] whose close runs on a thread of its own (see the module docs).
/// Use it like the consumer it derefs to.
pub struct DetachedConsumer<C: ConsumerContext + 'static = DefaultConsumerContext> {
    /// `None` only once [`close`](Self::close) or `drop` has taken it.
    consumer: Option<StreamConsumer<C>>,
}

impl<C: ConsumerContext + 'static> DetachedConsumer<C> {
    pub fn new(consumer: StreamConsumer<C>) -> Self {
        Self {
            consumer: Some(consumer),
        }
    }

    /// Leaves the group and closes the consumer, waiting at most `patience` for it. Returns
    /// whether it closed in time; if not, it goes on closing in the background, and the
    /// group's session timeout removes the member should the broker never answer.
    pub async fn close(mut self, patience: Duration) -> bool {
        let Some(consumer) = self.consumer.take() else {
            return true;
        };
        let closed = close_on_own_thread(consumer);
        matches!(tokio::time::timeout(patience, closed).await, Ok(Ok(())))
    }
}

/// Unsubscribes and drops `consumer` on a new thread; the receiver hears when that is done.
///
/// Unsubscribing first is what makes a consumer holding no partitions leave its group under
/// the cooperative protocol: librdkafka 2.12's close alone sends no LeaveGroup then (its
/// `rd_kafka_cgrp_revoke_all_rejoin` has nothing to revoke and returns early: "consumer is
/// terminating, skipping rejoin"), and the member lingers in the group until its session
/// times out, a leader that nobody else can sync with. `rd_kafka_unsubscribe` takes the
/// other path ("Current assignment is empty", no subscription left: leave). It blocks until
/// librdkafka has taken it in, hence here, on the closing thread.
fn close_on_own_thread<C: ConsumerContext + 'static>(
    consumer: StreamConsumer<C>,
) -> oneshot::Receiver<()> {
    on_own_thread("kafka-consumer-close", move || {
        consumer.unsubscribe();
        drop(consumer);
    })
}

/// Runs `work` on a new thread named `name`; the receiver hears when it is done.
fn on_own_thread(name: &str, work: impl FnOnce() + Send + 'static) -> oneshot::Receiver<()> {
    let (done, receiver) = oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            work();
            let _ = done.send(());
        });
    if let Err(error) = spawned {
        // The closure, client included, was dropped with the error: on this thread,
        // which is what we wanted to avoid, but there is no other left.
        tracing::warn!(%error, name, "cannot start a thread to close a Kafka client");
    }
    receiver
}

/// A [`FutureProducer`] that is flushed and destroyed on a thread of its own (see the
/// module docs). Use it like the producer it derefs to; never clone the producer out of
/// it, or the last clone's drop (wherever it happens) destroys the client instead.
pub struct DetachedProducer {
    /// `None` only once [`close`](Self::close) or `drop` has taken it.
    producer: Option<FutureProducer>,
}

impl DetachedProducer {
    pub fn new(producer: FutureProducer) -> Self {
        Self {
            producer: Some(producer),
        }
    }

    /// Lets librdkafka deliver what it still holds (for up to `flush`), then destroys the
    /// producer, waiting at most `patience` for both. Returns whether that finished in time;
    /// if not, it goes on in the background.
    pub async fn close(mut self, flush: Duration, patience: Duration) -> bool {
        let Some(producer) = self.producer.take() else {
            return true;
        };
        let closed = on_own_thread("kafka-producer-close", move || {
            if let Err(error) = producer.flush(flush) {
                tracing::debug!(%error, "the producer closed with messages undelivered");
            }
            drop(producer);
        });
        matches!(tokio::time::timeout(patience, closed).await, Ok(Ok(())))
    }
}

impl Deref for DetachedProducer {
    type Target = FutureProducer;

    fn deref(&self) -> &FutureProducer {
        self.producer
            .as_ref()
            .expect("a DetachedProducer holds its producer until closed or dropped")
    }
}

impl Drop for DetachedProducer {
    fn drop(&mut self) {
        if let Some(producer) = self.producer.take() {
            // Nobody waits: the thread destroys the client on its own.
            drop(on_own_thread("kafka-producer-close", move || {
                drop(producer)
            }));
        }
    }
}

impl<C: ConsumerContext + 'static> Deref for DetachedConsumer<C> {
    type Target = StreamConsumer<C>;

    fn deref(&self) -> &StreamConsumer<C> {
        self.consumer
            .as_ref()
            .expect("a DetachedConsumer holds its consumer until closed or dropped")
    }
}

impl<C: ConsumerContext + 'static> Drop for DetachedConsumer<C> {
    fn drop(&mut self) {
        if let Some(consumer) = self.consumer.take() {
            // Nobody waits: the thread finishes the close on its own.
            drop(close_on_own_thread(consumer));
        }
    }
}
