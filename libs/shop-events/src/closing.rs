//! Closing a group consumer without hanging whoever closes it.
//!
//! Dropping an rdkafka consumer that is in a group leaves the group first, and
//! rust-rdkafka waits for that without a limit (it polls until librdkafka reports the
//! consumer closed). A broker that stopped answering, or a group join still in flight,
//! can stretch that wait indefinitely, and the thread doing the drop hangs with it: a Tokio
//! worker during a graceful shutdown, or a test's runtime when the test ends.
//!
//! [`DetachedConsumer`] moves that wait to a thread of its own. Dropping it never blocks;
//! [`DetachedConsumer::close`] waits, but only as long as the caller allows.

use rdkafka::consumer::{ConsumerContext, DefaultConsumerContext, StreamConsumer};
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

/// Drops `consumer` on a new thread; the receiver hears when that is done.
fn close_on_own_thread<C: ConsumerContext + 'static>(
    consumer: StreamConsumer<C>,
) -> oneshot::Receiver<()> {
    let (closed, receiver) = oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("kafka-consumer-close".to_owned())
        .spawn(move || {
            drop(consumer);
            let _ = closed.send(());
        });
    if let Err(error) = spawned {
        // The closure, consumer included, was dropped with the error: on this thread,
        // which is what we wanted to avoid, but there is no other left.
        tracing::warn!(%error, "cannot start a thread to close a Kafka consumer");
    }
    receiver
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
