//! The read model: products (and pages of categories) kept in memory, as the JSON bodies the
//! API sends, in every replica. It is a cache in front of the database, filled on demand and
//! emptied by the catalog's own writes, whichever replica makes them.
//!
//! **Invalidation.** Triggers on `catalog.products` and `catalog.categories` (migration
//! `20261202000000_read_model_notify.sql`) `NOTIFY catalog_read_model` with the changed
//! product's id, or `*` for everything. Every replica `LISTEN`s on a connection of its own and
//! drops what a notification names. Chosen over the `ProductUpserted`/`ProductDeleted` events
//! because a NOTIFY is part of the writing transaction (delivered on commit, never for a
//! rollback), it reaches every replica (a Kafka consumer group would hand each event to one
//! of them), it takes milliseconds (events wait for the outbox relay and the broker, which
//! may be away), and a trigger cannot be forgotten by a new write path (the seed, stock
//! reservations, someone's psql session all notify).
//!
//! **Bounded staleness.** While its listener is connected, a replica forgets a product as
//! soon as the commit's notification arrives (milliseconds). The listener's connection may
//! break or go silent, and notifications sent meanwhile are lost for good: then the replica
//! stops serving from memory, empties it, and reads the database until it is listening again
//! (and empties it once more, for what changed in between). Silence is noticed through
//! heartbeats: every replica notifies the channel every [`HEARTBEAT_EVERY`], and a listener
//! that hears nothing for [`SILENCE_LIMIT`] counts as lost. So a replica never answers from
//! memory more than [`SILENCE_LIMIT`] after a committed change, whatever the network does; no
//! entry is served after [`MAX_AGE`] in any case.
//!
//! **Races.** A fill reads the database, then stores; a notification may land in between,
//! for a change the read did not see. Every invalidation bumps an epoch, and a fill that
//! sees the epoch moved after it stored removes what it stored (a later read fills again).
//!
//! **What never reads it.** Stock reservations and releases (`db::stock`) lock and read the
//! rows themselves; so do writes and lists (`GET /v1/products`: search ranking, filters and
//! the collation's order stay the database's, always exact). Stock on a cached product page
//! may lag by the bound above, nothing more.

use crate::db;
use crate::domain::product::Category;
use crate::error::Error;
use axum::body::Bytes;
use axum::http::HeaderValue;
use headers::ETag;
use serde::Serialize;
use sha2::{Digest, Sha256};
use shop_api::{Page, PageQuery};
use sqlx::PgPool;
use sqlx::postgres::{PgListener, PgPoolOptions};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The channel the triggers notify.
pub const CHANNEL: &str = "catalog_read_model";
/// The listener connection's `application_name`, to find it in `pg_stat_activity`.
pub const LISTENER_APPLICATION_NAME: &str = "catalog-read-model";
/// How often each replica notifies the channel to prove its listener is still hearing.
pub const HEARTBEAT_EVERY: Duration = Duration::from_millis(200);
/// A listener that hears nothing (not even a heartbeat) for this long counts as lost.
pub const SILENCE_LIMIT: Duration = Duration::from_millis(700);
/// No entry is served older than this, even if every notification were missed.
pub const MAX_AGE: Duration = Duration::from_secs(60);
/// The payload that proves the listener is alive and changes nothing.
const HEARTBEAT: &str = "heartbeat";
/// The payload that empties the whole read model.
const EVERYTHING: &str = "*";
/// The bytes of product bodies one replica keeps; the least used go first. About 16 000
/// products of a kilobyte.
const PRODUCTS_BYTES: u64 = 16 * 1024 * 1024;
/// The pages of categories one replica keeps (there are few categories, so few pages).
const CATEGORY_PAGES: usize = 64;
/// The longest wait between two attempts to listen again.
const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(5);

/// A response body as it is sent, with its entity tag: a hash of the body itself, so the
/// same representation has the same tag in every replica, and any change (the stock, the
/// embedded category's name) changes it. (`updated_at` would not move when a category is
/// renamed, and a version column would restart at 1 for a product deleted and seeded again.)
#[derive(Debug)]
pub struct Representation {
    pub body: Bytes,
    /// A strong `ETag`, quoted, as sent.
    pub etag: HeaderValue,
    /// The same, to compare with `If-None-Match`.
    pub tag: ETag,
    filled_at: Instant,
}

impl Representation {
    pub fn of(value: &impl Serialize) -> Result<Self, Error> {
        let body = serde_json::to_vec(value)
            .map_err(|error| Error::Internal(format!("cannot serialise a response: {error}")))?;
        let digest = Sha256::digest(&body);
        let mut tag = [0u8; 16];
        tag.copy_from_slice(&digest[..16]);
        let quoted = format!("\"{:032x}\"", u128::from_be_bytes(tag));
        let invalid = |error: String| Error::Internal(format!("an invalid ETag {quoted}: {error}"));
        let etag = HeaderValue::try_from(&quoted).map_err(|error| invalid(error.to_string()))?;
        let tag: ETag = quoted
            .parse()
            .map_err(|_| invalid("not an entity tag".to_owned()))?;
        Ok(Self {
            body: Bytes::from(body),
            etag,
            tag,
            filled_at: Instant::now(),
        })
    }

    fn is_fresh(&self) -> bool {
        self.filled_at.elapsed() < MAX_AGE
    }
}

/// Weighs a cached product by its body, so that the bound is in bytes.
#[derive(Debug, Clone, Copy)]
struct BodyBytes;

impl quick_cache::Weighter<Uuid, Arc<Representation>> for BodyBytes {
    fn weight(&self, _id: &Uuid, representation: &Arc<Representation>) -> u64 {
        // The key, the tag and the bookkeeping: roughly a hundred bytes more.
        representation.body.len() as u64 + 128
    }
}

type Products = quick_cache::sync::Cache<Uuid, Arc<Representation>, BodyBytes>;
/// Keyed by a page's limit and offset.
type CategoryPages = quick_cache::sync::Cache<(i64, i64), Arc<Representation>>;

/// The read model of one replica; clones share it.
#[derive(Debug, Clone)]
pub struct ReadModel(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    products: Products,
    category_pages: CategoryPages,
    /// Whether the listener is connected: only then is memory served or filled.
    live: AtomicBool,
    /// Bumped by every invalidation: a fill that overlapped one does not keep its result.
    epoch: AtomicU64,
    /// Wakes [`ReadModel::wait_until_live`].
    went_live: Notify,
}

/// What a fill started with: the epoch, if the read model was live then.
#[derive(Debug, Clone, Copy)]
struct Ticket(Option<u64>);

impl Default for ReadModel {
    fn default() -> Self {
        Self::new()
    }
}

impl ReadModel {
    /// An empty read model, not live until [`ReadModel::spawn_listener`] connects.
    pub fn new() -> Self {
        let estimated_products = 4096;
        Self(Arc::new(Inner {
            products: Products::with_weighter(estimated_products, PRODUCTS_BYTES, BodyBytes),
            category_pages: CategoryPages::new(CATEGORY_PAGES),
            live: AtomicBool::new(false),
            epoch: AtomicU64::new(0),
            went_live: Notify::new(),
        }))
    }

    /// Whether reads are served from memory right now.
    pub fn is_live(&self) -> bool {
        self.0.live.load(Ordering::SeqCst)
    }

    /// Returns once the read model is live, or after `patience`.
    pub async fn wait_until_live(&self, patience: Duration) {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            let went_live = self.0.went_live.notified();
            if self.is_live() {
                return;
            }
            if tokio::time::timeout_at(deadline, went_live).await.is_err() {
                return;
            }
        }
    }

    /// The product with this id, from memory if it is there, else from the database.
    pub async fn product(
        &self,
        pool: &PgPool,
        id: Uuid,
    ) -> Result<Option<Arc<Representation>>, Error> {
        if let Some(hit) = self.fresh(self.0.products.get(&id)) {
            return Ok(Some(hit));
        }
        let ticket = self.ticket();
        let Some(product) = db::products::find(pool, id).await? else {
            // Misses are not kept: an insert would have nothing to forget.
            return Ok(None);
        };
        let representation = Arc::new(Representation::of(&product)?);
        if self.keeps(ticket) {
            self.0.products.insert(id, representation.clone());
            if !self.still_valid(ticket) {
                self.0.products.remove(&id);
            }
        }
        Ok(Some(representation))
    }

    /// One page of categories (already validated), from memory if it is there.
    pub async fn category_page(
        &self,
        pool: &PgPool,
        page: PageQuery,
    ) -> Result<Arc<Representation>, Error> {
        let key = (page.limit(), page.offset());
        if let Some(hit) = self.fresh(self.0.category_pages.get(&key)) {
            return Ok(hit);
        }
        let ticket = self.ticket();
        let (categories, total) = db::categories::list(pool, page).await?;
        let body: Page<Category> = Page::new(categories, page, total);
        let representation = Arc::new(Representation::of(&body)?);
        if self.keeps(ticket) {
            self.0.category_pages.insert(key, representation.clone());
            if !self.still_valid(ticket) {
                self.0.category_pages.remove(&key);
            }
        }
        Ok(representation)
    }

    fn fresh(&self, entry: Option<Arc<Representation>>) -> Option<Arc<Representation>> {
        entry.filter(|entry| self.is_live() && entry.is_fresh())
    }

    fn ticket(&self) -> Ticket {
        let epoch = self.0.epoch.load(Ordering::SeqCst);
        Ticket(self.is_live().then_some(epoch))
    }

    fn keeps(&self, ticket: Ticket) -> bool {
        ticket.0.is_some()
    }

    /// Checked after storing: an invalidation that came between the ticket and the store
    /// may be for a change the read did not see.
    fn still_valid(&self, ticket: Ticket) -> bool {
        self.is_live() && ticket.0 == Some(self.0.epoch.load(Ordering::SeqCst))
    }

    /// Forgets one product: it changed, or is gone. The replica that wrote calls it as soon
    /// as its transaction commits, so that it reads its own writes at once; the others hear
    /// of it through the channel.
    pub fn forget_product(&self, id: Uuid) {
        self.0.epoch.fetch_add(1, Ordering::SeqCst);
        self.0.products.remove(&id);
    }

    fn forget_everything(&self) {
        self.0.epoch.fetch_add(1, Ordering::SeqCst);
        self.0.products.clear();
        self.0.category_pages.clear();
    }

    /// Listening (again): empty, since changes made while not listening went unheard.
    fn go_live(&self) {
        self.forget_everything();
        self.0.live.store(true, Ordering::SeqCst);
        self.0.went_live.notify_waiters();
        tracing::info!("read model live: reads are served from memory");
    }

    fn go_dark(&self, why: &str) {
        self.0.live.store(false, Ordering::SeqCst);
        self.forget_everything();
        tracing::warn!(
            why,
            "read model stopped: reads go to the database until it listens again"
        );
    }

    fn apply(&self, payload: &str) {
        match payload {
            HEARTBEAT => {}
            EVERYTHING => self.forget_everything(),
            id => match Uuid::parse_str(id) {
                Ok(id) => self.forget_product(id),
                Err(_) => {
                    tracing::warn!(payload, "an unknown notification: forgetting everything");
                    self.forget_everything();
                }
            },
        }
    }

    /// Starts listening for the triggers' notifications, and sending heartbeats, on a pool
    /// of a few connections of its own made like `pool`'s (so that a busy service pool can
    /// neither delay a heartbeat nor starve the listener). Stops at `shutdown`.
    pub fn spawn_listener(&self, pool: &PgPool, shutdown: CancellationToken) -> JoinHandle<()> {
        let options = (*pool.connect_options())
            .clone()
            .application_name(LISTENER_APPLICATION_NAME);
        let own_pool = PgPoolOptions::new()
            .max_connections(3)
            .acquire_timeout(Duration::from_secs(2))
            .max_lifetime(None)
            .idle_timeout(None)
            .connect_lazy_with(options);
        let read_model = self.clone();
        tokio::spawn(async move {
            let heartbeats = tokio::spawn(send_heartbeats(own_pool.clone(), shutdown.clone()));
            read_model.listen(&own_pool, &shutdown).await;
            heartbeats.abort();
            own_pool.close().await;
        })
    }

    async fn listen(&self, pool: &PgPool, shutdown: &CancellationToken) {
        let mut delay = HEARTBEAT_EVERY;
        loop {
            let connected = tokio::select! {
                () = shutdown.cancelled() => return,
                connected = connect_listener(pool) => connected,
            };
            match connected {
                Ok(mut listener) => {
                    delay = HEARTBEAT_EVERY;
                    self.go_live();
                    let lost = tokio::select! {
                        () = shutdown.cancelled() => None,
                        lost = self.follow(&mut listener) => Some(lost),
                    };
                    match lost {
                        Some(why) => self.go_dark(&why),
                        None => {
                            self.0.live.store(false, Ordering::SeqCst);
                            return;
                        }
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, ?delay, "read model cannot listen yet");
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = tokio::time::sleep(delay) => {}
                    }
                    delay = (delay * 2).min(MAX_RECONNECT_DELAY);
                }
            }
        }
    }

    /// Applies notifications until the connection is lost or falls silent; says which.
    /// (The listener is dropped afterwards, so a receive cut short by the timeout is of
    /// no consequence.)
    async fn follow(&self, listener: &mut PgListener) -> String {
        loop {
            match tokio::time::timeout(SILENCE_LIMIT, listener.try_recv()).await {
                Ok(Ok(Some(notification))) => self.apply(notification.payload()),
                Ok(Ok(None)) => return "the listener's connection was lost".to_owned(),
                Ok(Err(error)) => return format!("the listener failed: {error}"),
                Err(_) => return format!("nothing heard for {SILENCE_LIMIT:?}"),
            }
        }
    }
}

async fn connect_listener(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    // A lost connection is noticed by `follow`, which makes a new listener: reconnecting
    // inside `try_recv` would hide the gap in which notifications were lost.
    listener.eager_reconnect(false);
    listener.ignore_pool_close_event(true);
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Notifies the channel every [`HEARTBEAT_EVERY`] until `shutdown`; failures are the
/// listener's concern (it hears nothing, and stops serving from memory).
async fn send_heartbeats(pool: PgPool, shutdown: CancellationToken) {
    let mut every = tokio::time::interval(HEARTBEAT_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        let sent = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(HEARTBEAT)
            .execute(&pool);
        if let Ok(Err(error)) = tokio::time::timeout(HEARTBEAT_EVERY, sent).await {
            tracing::debug!(%error, "read model heartbeat not sent");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tag_is_the_body_s() {
        let a = Representation::of(&serde_json::json!({"stock": 1})).unwrap();
        let same = Representation::of(&serde_json::json!({"stock": 1})).unwrap();
        let other = Representation::of(&serde_json::json!({"stock": 2})).unwrap();
        assert_eq!(a.etag, same.etag);
        assert_ne!(a.etag, other.etag);
        let tag = a.etag.to_str().unwrap();
        assert!(
            tag.starts_with('"') && tag.ends_with('"') && tag.len() == 34,
            "{tag}"
        );
    }

    #[test]
    fn a_fill_overlapping_an_invalidation_is_not_kept() {
        let read_model = ReadModel::new();
        read_model.go_live();
        let ticket = read_model.ticket();
        assert!(read_model.still_valid(ticket));
        read_model.apply(&Uuid::now_v7().to_string());
        assert!(!read_model.still_valid(ticket), "the epoch moved");
        read_model.apply(HEARTBEAT);
        let ticket = read_model.ticket();
        read_model.apply(HEARTBEAT);
        assert!(
            read_model.still_valid(ticket),
            "a heartbeat changes nothing"
        );
        read_model.go_dark("test");
        assert!(
            !read_model.keeps(read_model.ticket()),
            "nothing is kept while dark"
        );
    }
}
