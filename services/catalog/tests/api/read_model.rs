//! The read model (`read_model.rs`): product reads served from memory in every replica,
//! forgotten by every replica within the staleness bound when a product changes, and
//! conditional requests (`ETag`, `If-None-Match`, `304`).

use crate::helpers::{TestApp, eventually, product_body, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shop_events::event::{Money, OrderPlaced, PricedItem};
use shop_testing::RunningService;
use sqlx::{Connection, PgConnection};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// The bound every replica keeps to (the issue's): a committed change is visible on every
/// replica within it.
const BOUND: Duration = Duration::from_secs(1);

/// One product read from `service`: status, ETag and body.
async fn read(service: &RunningService, id: Uuid) -> (StatusCode, Option<String>, Value) {
    let response = service.get(&format!("/v1/products/{id}")).await;
    let status = response.status();
    let etag = response
        .headers()
        .get("etag")
        .map(|value| value.to_str().expect("an ASCII ETag").to_owned());
    let body = response.json().await.unwrap_or(Value::Null);
    (status, etag, body)
}

/// Polls `service` for product `id` until `wanted` holds, and returns how long that took;
/// fails the test if it takes [`BOUND`] or more.
async fn seen_within_bound(
    service: &RunningService,
    id: Uuid,
    what: &str,
    wanted: impl Fn(StatusCode, &Value) -> bool,
) -> Duration {
    let started = Instant::now();
    loop {
        let (status, _, body) = read(service, id).await;
        let elapsed = started.elapsed();
        if wanted(status, &body) {
            return elapsed;
        }
        assert!(
            elapsed < BOUND,
            "{what}: still {status} {body} after {elapsed:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

impl TestApp {
    async fn create(&self, sku: &str) -> Uuid {
        let product = self.create_product(&product_body(sku)).await;
        product["id"]
            .as_str()
            .expect("an id")
            .parse()
            .expect("a uuid")
    }

    async fn rename(&self, id: Uuid, sku: &str, name: &str) {
        let mut body = product_body(sku);
        body["name"] = json!(name);
        let token = self.admin_token();
        let response = self
            .replace(&format!("/v1/products/{id}"), Some(&token), &body)
            .await;
        assert_eq!(response.status(), 200, "replaced");
    }

    /// A superuser session on the test database.
    async fn superuser(&self) -> PgConnection {
        PgConnection::connect(&self.db.admin_url())
            .await
            .expect("a superuser session")
    }

    /// The backends of the read models' listeners now (one per replica).
    async fn listener_pids(&self) -> Vec<i32> {
        sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity
             WHERE datname = current_database() AND application_name = $1
               AND query LIKE 'LISTEN%'
             ORDER BY pid",
        )
        .bind(catalog::read_model::LISTENER_APPLICATION_NAME)
        .fetch_all(&mut self.superuser().await)
        .await
        .expect("pg_stat_activity")
    }
}

#[tokio::test]
async fn a_change_through_one_replica_is_seen_through_another_within_a_second() {
    let app = spawn_app().await;
    let replica = app.replica().await;
    let id = app.create("RM-CHG-001").await;
    // Both replicas hold it in memory.
    for service in [&app.service, &replica] {
        for _ in 0..2 {
            let (status, _, body) = read(service, id).await;
            assert_eq!(status, 200);
            assert_eq!(body["name"], "Lighthouse Keeper's Thermos");
        }
    }

    app.rename(id, "RM-CHG-001", "Harbour Pilot's Thermos")
        .await;

    let lag = seen_within_bound(&replica, id, "the other replica", |status, body| {
        status == 200 && body["name"] == "Harbour Pilot's Thermos"
    })
    .await;
    eprintln!("the other replica saw the change after {lag:?}");
    // The replica that wrote reads its own write at once.
    let (_, _, body) = read(&app.service, id).await;
    assert_eq!(body["name"], "Harbour Pilot's Thermos");
}

#[tokio::test]
async fn a_delete_through_one_replica_is_seen_through_another_within_a_second() {
    let app = spawn_app().await;
    let replica = app.replica().await;
    let id = app.create("RM-DEL-001").await;
    assert_eq!(read(&replica, id).await.0, 200);
    assert_eq!(read(&replica, id).await.0, 200);

    let token = app.admin_token();
    let deleted = app
        .send(
            Method::DELETE,
            &format!("/v1/products/{id}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(deleted.status(), 204);

    seen_within_bound(
        &replica,
        id,
        "the delete on the other replica",
        |status, _| status == 404,
    )
    .await;
    assert_eq!(read(&app.service, id).await.0, 404, "the writer at once");
}

/// What proves that reads come from memory at all: a change made with the triggers switched
/// off (`session_replication_role = replica`, superusers only) is not seen until something
/// notifies the product.
#[tokio::test]
async fn reads_are_served_from_memory_until_a_notification_names_the_product() {
    let app = spawn_app().await;
    let id = app.create("RM-MEM-001").await;
    // The insert's own notification arrives milliseconds after the answer and empties the
    // entry: read after it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(read(&app.service, id).await.2["stock"], 12);

    let mut superuser = app.superuser().await;
    sqlx::query("SET session_replication_role = replica")
        .execute(&mut superuser)
        .await
        .expect("triggers off");
    sqlx::query("UPDATE catalog.products SET stock = 11 WHERE id = $1")
        .bind(id)
        .execute(&mut superuser)
        .await
        .expect("updated behind the read model's back");
    // Longer than the listener's silence limit: heartbeats keep it live, and nothing
    // named the product.
    tokio::time::sleep(catalog::read_model::SILENCE_LIMIT * 2).await;
    assert_eq!(
        read(&app.service, id).await.2["stock"],
        12,
        "still the product in memory"
    );

    sqlx::query("SELECT pg_notify('catalog_read_model', $1)")
        .bind(id.to_string())
        .execute(&mut superuser)
        .await
        .expect("notified");
    seen_within_bound(&app.service, id, "after the notification", |_, body| {
        body["stock"] == 11
    })
    .await;
}

#[tokio::test]
async fn a_killed_listener_serves_nothing_stale_and_listens_again() {
    let app = spawn_app().await;
    let replica = app.replica().await;
    let id = app.create("RM-KIL-001").await;
    assert_eq!(read(&replica, id).await.0, 200);
    let before = app.listener_pids().await;
    assert_eq!(before.len(), 2, "one listener per replica: {before:?}");

    // Every connection of both read models (listeners and heartbeats), then a change that
    // no listener can hear.
    let mut superuser = app.superuser().await;
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND application_name = $1",
    )
    .bind(catalog::read_model::LISTENER_APPLICATION_NAME)
    .execute(&mut superuser)
    .await
    .expect("listeners terminated");
    app.rename(id, "RM-KIL-001", "Breakwater Thermos").await;
    seen_within_bound(&replica, id, "with its listener killed", |_, body| {
        body["name"] == "Breakwater Thermos"
    })
    .await;

    // Both listen again, on new connections, and forget changes as before.
    eventually("both read models listen again", || async {
        let now = app.listener_pids().await;
        now.len() == 2 && now.iter().all(|pid| !before.contains(pid))
    })
    .await;
    for service in [&app.service, &replica] {
        eventually("the read model is live again", || async {
            let body: Value = service.get("/health/ready").await.json().await.unwrap();
            body["checks"]["read_model"] == "ok"
        })
        .await;
    }
    assert_eq!(read(&replica, id).await.2["name"], "Breakwater Thermos");
    app.rename(id, "RM-KIL-001", "Lantern Thermos").await;
    seen_within_bound(&replica, id, "after listening again", |_, body| {
        body["name"] == "Lantern Thermos"
    })
    .await;
}

#[tokio::test]
async fn a_matching_if_none_match_is_a_304_until_the_product_changes() {
    let app = spawn_app().await;
    let replica = app.replica().await;
    let id = app.create("RM-TAG-001").await;
    let path = format!("/v1/products/{id}");
    let response = app.get(&path).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-cache");
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"'), "a strong tag: {etag}");
    assert_eq!(
        read(&replica, id).await.1.as_deref(),
        Some(etag.as_str()),
        "every replica tags the same product alike"
    );

    let conditional = |service: &RunningService, tag: &str| {
        service
            .http
            .get(service.url(&path))
            .header("if-none-match", tag)
            .send()
    };
    for tag in [
        etag.clone(),
        format!("W/{etag}"),
        format!("\"other\", {etag}"),
        "*".to_owned(),
    ] {
        let response = conditional(&replica, &tag).await.unwrap();
        assert_eq!(response.status(), 304, "If-None-Match: {tag}");
        assert_eq!(response.headers()["etag"], etag.as_str());
        assert!(response.bytes().await.unwrap().is_empty(), "no body");
    }
    let other = conditional(&replica, "\"other\"").await.unwrap();
    assert_eq!(other.status(), 200, "another tag");

    app.rename(id, "RM-TAG-001", "Quayside Thermos").await;
    let started = Instant::now();
    let changed = loop {
        let response = conditional(&replica, &etag).await.unwrap();
        if response.status() == 200 {
            break response;
        }
        assert_eq!(response.status(), 304);
        assert!(started.elapsed() < BOUND, "still 304 after {BOUND:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let new_etag = changed.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(new_etag, etag);
    let body: Value = changed.json().await.unwrap();
    assert_eq!(body["name"], "Quayside Thermos");
    assert_eq!(
        conditional(&replica, &new_etag).await.unwrap().status(),
        304
    );
}

#[tokio::test]
async fn pages_of_categories_are_tagged_and_revalidated() {
    let app = spawn_app().await;
    let response = app.get("/v1/categories?per_page=2").await;
    assert_eq!(response.status(), 200);
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let first: Value = response.json().await.unwrap();
    let revalidated = app
        .service
        .http
        .get(app.service.url("/v1/categories?per_page=2"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status(), 304);

    let second_page = app.get("/v1/categories?per_page=2&page=2").await;
    assert_ne!(
        second_page.headers()["etag"],
        etag.as_str(),
        "each page its own"
    );

    // A category added (by hand: only the seed writes categories) empties the read model.
    sqlx::query(
        "INSERT INTO catalog.categories (id, slug, name) VALUES ($1, 'aaa-first', 'AAA First')",
    )
    .bind(Uuid::now_v7())
    .execute(&app.pool)
    .await
    .expect("a category");
    let started = Instant::now();
    loop {
        let body: Value = app
            .get("/v1/categories?per_page=2")
            .await
            .json()
            .await
            .unwrap();
        if body["items"][0]["slug"] == "aaa-first" {
            assert_ne!(body, first);
            break;
        }
        assert!(started.elapsed() < BOUND, "still {body} after {BOUND:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Reservations lock and read the rows themselves, never the read model; the stock a
/// product page shows follows them within the bound.
#[tokio::test]
async fn reservations_stay_exact_and_the_stock_shown_follows_them() {
    let app = spawn_app().await;
    let replica = app.replica().await;
    let mug = app.product_with_stock("RM-STK-001", 10).await;
    assert_eq!(read(&replica, mug).await.2["stock"], 10);
    assert_eq!(read(&app.service, mug).await.2["stock"], 10);

    let order = |quantity: u32| OrderPlaced {
        order_id: Uuid::now_v7(),
        user_id: Uuid::now_v7(),
        items: vec![PricedItem {
            product_id: mug,
            quantity,
            unit_price_minor: 2990,
        }],
        total: Money {
            amount_minor: 2990 * i64::from(quantity),
            currency: "EUR".into(),
        },
    };
    let first = app.publish(order(7)).await;
    app.wait_until_processed(&[&first]).await;
    for service in [&app.service, &replica] {
        seen_within_bound(service, mug, "the stock after a reservation", |_, body| {
            body["stock"] == 3
        })
        .await;
    }
    // Whatever any replica holds, a second order for more than is left takes nothing.
    let second = app.publish(order(4)).await;
    app.wait_until_processed(&[&second]).await;
    assert_eq!(app.stock_of(mug).await, 3, "rejected, nothing taken");
}
