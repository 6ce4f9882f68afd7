//! `cargo xtask bench`: the figures of issue 16's table, measured on release builds in one
//! run, and written to `docs/benchmarks.md` with SVG plots in `docs/benchmarks/`.
//!
//! Each figure is a number or a ratio of two numbers taken in the same run, after a
//! warm-up, over repeats taken in turns (so that whatever else the machine does falls on
//! both sides of a ratio alike), reported as the median with the minimum and maximum. The
//! services run as release processes on ports of their own against a scratch database and
//! a private broker, so the bench disturbs neither `cargo xtask up` nor the tests.
//!
//! Sections: binary and image sizes; start to ready and idle memory per service; catalog
//! product reads against `pgbench -S`; the users service's peak memory under a sign-up
//! burst; checkout latency at fixed arrival rates with everything running, and the lag from
//! `OrderPlaced` to recommendations; what trace export costs (`bench/trace_export.rs`).

mod load;
mod report;
mod stack;
mod stats;
mod trace_export;

use crate::services::{self, Profile, SERVICES};
use crate::{image, postgres, progress, workspace};
use anyhow::Context;
use stack::{Layout, Stack};
use stats::Summary;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Repeats of each measured figure (after a warm-up).
const ROUNDS: usize = 3;
/// Starts of each service for start-to-ready (after one that migrates a fresh schema).
const START_ROUNDS: usize = 5;
/// Seconds of each closed-loop run (wrk, pgbench).
const THROUGHPUT_SECONDS: u32 = 10;
/// Concurrent sign-ups of the burst.
const SIGN_UPS: usize = 32;
/// Checkout arrival rates: a light one, and the target rate.
const CHECKOUT_RATES: [f64; 2] = [20.0, 100.0];
/// Length of each fixed-rate checkout run.
const CHECKOUT_RUN: Duration = Duration::from_secs(10);
/// Runs at each checkout rate.
const CHECKOUT_ROUNDS: usize = 2;
/// Checkouts in flight at most; more are counted as not sent (the run stays bounded).
const MAX_IN_FLIGHT: usize = 256;

pub async fn run() -> anyhow::Result<()> {
    let machine = report::Machine::describe();
    progress::step("building the five services (release, as the Dockerfile does)");
    services::build_profile(Profile::Release)?;
    let wrk = load::wrk()?;
    load::pgbench()?;

    let mut results = report::Results::new(machine);
    results.sizes = Some(sizes());

    progress::step("Postgres, a scratch database and a private broker");
    postgres::ensure_running().await?;
    let broker = stack::Broker::start().await?;
    // Named like the tests' databases, so that `cargo xtask test` removes one left behind
    // by an interrupted bench.
    let database = format!("harbor_test_bench_{}", std::process::id());
    shop_db::provision::provision(&postgres::admin_url(), &database).await?;
    let outcome = measure_services(&mut results, &wrk, &database, &broker).await;
    drop(broker);
    shop_db::provision::drop_database(&postgres::admin_url(), &database).await?;
    outcome?;

    results.trace_export = Some(trace_export::measure().await.map_err(|e| format!("{e:#}")));
    results.load_after = report::load_average();

    progress::step("writing docs/benchmarks.md");
    let written = report::write(&results)?;
    for path in written {
        progress::done(&path.display().to_string());
    }
    Ok(())
}

async fn measure_services(
    results: &mut report::Results,
    wrk: &std::path::Path,
    database: &str,
    broker: &stack::Broker,
) -> anyhow::Result<()> {
    let layout = Layout::new(database, &broker.address)?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .pool_max_idle_per_host(MAX_IN_FLIGHT)
        .build()?;

    progress::step(&format!(
        "start to ready and idle memory: each service alone, 1 + {START_ROUNDS} starts, in turns"
    ));
    results.starts = Some(starts(&layout, &client).await?);

    progress::step("all five together");
    let mut stack = Stack::start(&layout, &client).await?;
    let outcome = async {
        tokio::time::sleep(Duration::from_secs(3)).await;
        for (name, child) in &stack.children {
            let rss = stack::proc_status_bytes(child.id(), "VmRSS")?;
            results.idle_together.push((name, rss));
        }
        let admin = admin_pool(database).await?;
        // Stock for every checkout of the run: a rejected order teaches recommendations
        // nothing, and the bench measures the path that succeeds.
        sqlx::query("UPDATE catalog.products SET stock = 1000000")
            .execute(&admin)
            .await?;
        let products: Vec<Uuid> =
            sqlx::query_scalar("SELECT id FROM catalog.products ORDER BY sku")
                .fetch_all(&admin)
                .await?;
        anyhow::ensure!(
            products.len() >= 2,
            "the seeded catalog has fewer than 2 products"
        );

        results.catalog = Some(
            catalog_throughput(&layout, &client, wrk, products[0])
                .await
                .map_err(|e| format!("{e:#}")),
        );
        results.sign_ups = Some(
            sign_up_burst(&mut stack, &layout, &client)
                .await
                .map_err(|e| format!("{e:#}")),
        );
        results.checkout = Some(
            checkout(&layout, &client, &admin, &products)
                .await
                .map_err(|e| format!("{e:#}")),
        );
        admin.close().await;
        anyhow::Ok(())
    }
    .await;
    stack.stop();
    outcome
}

/// A superuser pool on the bench database: it reads every service's schema (the event
/// timestamps) and tops up stock.
async fn admin_pool(database: &str) -> anyhow::Result<sqlx::PgPool> {
    let url = load::with_database(&postgres::admin_url(), database)?;
    Ok(sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(&url)
        .await?)
}

fn sizes() -> report::Sizes {
    let binaries = SERVICES
        .iter()
        .map(|service| {
            let size = std::fs::metadata(Profile::Release.binary(service.name))
                .map(|m| m.len())
                .unwrap_or(0);
            (service.name, size)
        })
        .collect();
    // The image's file system, as `cargo xtask image` assembles it (root only: it chowns).
    let rootfs = if image::running_as_root() {
        image::RuntimeRoot::assemble()
            .map_err(|e| format!("{e:#}"))
            .and_then(|_| {
                let root = workspace::target_dir().join("image-check/rootfs");
                directory_bytes(&root, &root.join("usr/local/bin")).map_err(|e| format!("{e:#}"))
            })
    } else {
        Err("not root: the image's file system was not assembled".to_owned())
    };
    report::Sizes { binaries, rootfs }
}

/// The bytes of the regular files under `dir`, except under `skip` (the binaries a check
/// copied in).
fn directory_bytes(dir: &std::path::Path, skip: &std::path::Path) -> anyhow::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        let path = entry.path();
        let kind = entry.file_type()?;
        if path.starts_with(skip) {
            continue;
        }
        if kind.is_dir() {
            total += directory_bytes(&path, skip)?;
        } else if kind.is_file() {
            total += entry.metadata()?.len();
        }
    }
    Ok(total)
}

/// Each service alone: spawn → `/health/ready` 200, and its resident memory 1 s later.
async fn starts(layout: &Layout, client: &reqwest::Client) -> anyhow::Result<report::Starts> {
    let mut first = Vec::new();
    let mut times: Vec<Vec<f64>> = SERVICES.iter().map(|_| Vec::new()).collect();
    let mut rss: Vec<Vec<f64>> = SERVICES.iter().map(|_| Vec::new()).collect();
    for round in 0..=START_ROUNDS {
        for (i, service) in SERVICES.iter().enumerate() {
            let started = Instant::now();
            let mut child = layout.spawn(service.name)?;
            let ready = layout
                .wait_ready(client, service.name, &mut child, started)
                .await;
            let ready = match ready {
                Ok(ready) => ready,
                Err(error) => {
                    stack::stop(child);
                    return Err(error);
                }
            };
            tokio::time::sleep(Duration::from_secs(1)).await;
            let resident = stack::proc_status_bytes(child.id(), "VmRSS");
            stack::stop(child);
            let ms = ready.as_secs_f64() * 1e3;
            if round == 0 {
                // The first start on the fresh database applies every migration.
                first.push((service.name, ms));
            } else {
                times[i].push(ms);
                rss[i].push(resident? as f64);
            }
        }
        progress::done(&format!(
            "{} {round}",
            if round == 0 { "warm-up" } else { "round" }
        ));
    }
    let per_service = SERVICES
        .iter()
        .enumerate()
        .map(|(i, service)| report::ServiceStart {
            name: service.name,
            first_ms: first.iter().find(|(n, _)| *n == service.name).map(|f| f.1),
            ready_ms: Summary::of(&times[i]),
            idle_rss: Summary::of(&rss[i]),
        })
        .collect();
    Ok(report::Starts { per_service })
}

/// Catalog `GET /v1/products/{id}` and `/health/live` with wrk, and pgbench `-S`, with the
/// same connections, in turns.
async fn catalog_throughput(
    layout: &Layout,
    client: &reqwest::Client,
    wrk: &std::path::Path,
    product: Uuid,
) -> anyhow::Result<report::Catalog> {
    let product_url = layout.url("catalog", &format!("/v1/products/{product}"));
    let live_url = layout.url("catalog", "/health/live");
    let pgbench_db =
        load::PgbenchDatabase::create(format!("harbor_test_bench_pgbench_{}", std::process::id()))
            .await?;
    // The same catalog with `RUST_LOG=warn`, which disables the server span and every log
    // line: how much of a cached read is the telemetry.
    let quiet_port = stack::free_port()?;
    let started = Instant::now();
    let mut quiet = layout.spawn_with(
        "catalog",
        &[
            ("LISTEN_ADDR", format!("127.0.0.1:{quiet_port}")),
            ("RUST_LOG", "warn".to_owned()),
        ],
    )?;
    let quiet_url = format!("http://127.0.0.1:{quiet_port}/v1/products/{product}");
    let quiet_ready = format!("http://127.0.0.1:{quiet_port}/health/ready");
    let outcome = async {
        stack::wait_ready_at(client, &quiet_ready, "catalog", &mut quiet, started).await?;
        progress::step("catalog reads against pgbench -S: warm-up, then rounds in turns");
        load::run_wrk(wrk, &product_url, 3)?;
        load::run_wrk(wrk, &quiet_url, 2)?;
        load::run_wrk(wrk, &live_url, 2)?;
        pgbench_db.select_only(3)?;
        let mut rounds = Vec::new();
        for round in 1..=ROUNDS {
            let product = load::run_wrk(wrk, &product_url, THROUGHPUT_SECONDS)?;
            let pgbench = pgbench_db.select_only(THROUGHPUT_SECONDS)?;
            let unlogged = load::run_wrk(wrk, &quiet_url, THROUGHPUT_SECONDS)?;
            let live = load::run_wrk(wrk, &live_url, THROUGHPUT_SECONDS)?;
            progress::done(&format!(
                "round {round}: product {:.0} rps ({} errors), pgbench {pgbench:.0} tps, \
                 product with RUST_LOG=warn {:.0} rps, live {:.0} rps",
                product.requests_per_second,
                product.errors,
                unlogged.requests_per_second,
                live.requests_per_second
            ));
            rounds.push(report::CatalogRound {
                product_rps: product.requests_per_second,
                product_errors: product.errors,
                pgbench_tps: pgbench,
                unlogged_product_rps: unlogged.requests_per_second,
                live_rps: live.requests_per_second,
            });
        }
        anyhow::Ok(rounds)
    }
    .await;
    stack::stop(quiet);
    pgbench_db.drop().await?;
    Ok(report::Catalog { rounds: outcome? })
}

/// 32 sign-ups at once against a freshly started users service: its peak resident memory.
async fn sign_up_burst(
    stack: &mut Stack,
    layout: &Layout,
    client: &reqwest::Client,
) -> anyhow::Result<report::SignUps> {
    progress::step(&format!(
        "{SIGN_UPS} concurrent sign-ups, {ROUNDS} rounds, each on a fresh users process"
    ));
    let url = layout.url("users", "/v1/users");
    // The second variant tests a suspicion: glibc's malloc keeps each freed 19 MiB Argon2
    // block in the arena of the blocking thread that hashed (its mmap threshold rises after
    // the first free), and a burst goes through many threads. A fixed threshold returns
    // every block to the system when freed.
    let variants: [(&'static str, Vec<(&str, String)>); 2] = [
        ("service defaults", Vec::new()),
        (
            "MALLOC_MMAP_THRESHOLD_=1048576",
            vec![("MALLOC_MMAP_THRESHOLD_", "1048576".to_owned())],
        ),
    ];
    let mut rounds = Vec::new();
    for round in 1..=ROUNDS {
        for (variant, overrides) in &variants {
            stack.restart(layout, client, "users", overrides).await?;
            tokio::time::sleep(Duration::from_secs(1)).await;
            let pid = stack.pid("users")?;
            let before = stack::proc_status_bytes(pid, "VmHWM")?;
            let started = Instant::now();
            let mut burst = tokio::task::JoinSet::new();
            for _ in 0..SIGN_UPS {
                let request = client.post(&url).json(&serde_json::json!({
                    "email": format!("bench-{}@example.com", Uuid::new_v4().simple()),
                    "name": "Bench Shopper",
                    "password": "correct horse battery staple",
                }));
                burst.spawn(async move { request.send().await.map(|r| r.status().as_u16()) });
            }
            let mut statuses = std::collections::BTreeMap::new();
            while let Some(done) = burst.join_next().await {
                let status = match done? {
                    Ok(status) => status.to_string(),
                    Err(error) if error.is_timeout() => "timeout".to_owned(),
                    Err(_) => "error".to_owned(),
                };
                *statuses.entry(status).or_insert(0u32) += 1;
            }
            let seconds = started.elapsed().as_secs_f64();
            let peak = stack::proc_status_bytes(pid, "VmHWM")?;
            progress::done(&format!(
                "round {round}, {variant}: peak {:.1} MiB (before {:.1}), {statuses:?} in {seconds:.2} s",
                report::mib(peak as f64),
                report::mib(before as f64)
            ));
            rounds.push(report::SignUpRound {
                variant,
                peak_before: before,
                peak,
                seconds,
                statuses,
            });
        }
    }
    // The others fetch keys from a users service with the defaults.
    stack.restart(layout, client, "users", &[]).await?;
    let compose = std::fs::read_to_string(workspace::root().join("docker-compose.yml"))?;
    Ok(report::SignUps {
        rounds,
        limit: report::compose_memory_limit(&compose, "users"),
    })
}

/// Checkouts through the storefront (`POST /api/orders`) at fixed arrival rates, and each
/// confirmed order's lag from `OrderPlaced` (the outbox row, inserted in the placing
/// transaction) to recommendations processing `OrderConfirmed` (its `processed_events` row,
/// in the transaction that updates the co-purchase pairs and popularity), both timestamps
/// from Postgres' clock.
async fn checkout(
    layout: &Layout,
    client: &reqwest::Client,
    admin: &sqlx::PgPool,
    products: &[Uuid],
) -> anyhow::Result<report::Checkout> {
    progress::step("checkout at fixed arrival rates, and the event lag to recommendations");
    let email = format!("bench-{}@example.com", Uuid::new_v4().simple());
    let password = "correct horse battery staple";
    client
        .post(layout.url("users", "/v1/users"))
        .json(&serde_json::json!({"email": email, "name": "Bench Shopper", "password": password}))
        .send()
        .await?
        .error_for_status()?;
    let session: serde_json::Value = client
        .post(layout.url("storefront", "/api/sessions"))
        .json(&serde_json::json!({"email": email, "password": password}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let token = session["access_token"]
        .as_str()
        .context("no access_token in the sign-in answer")?
        .to_owned();
    let url = layout.url("storefront", "/api/orders");
    let place = |i: u64| {
        let (first, second) = two_products(products, i);
        let request = client
            .post(&url)
            .bearer_auth(&token)
            .header("Idempotency-Key", Uuid::new_v4().to_string())
            .json(&serde_json::json!({"items": [
                {"product_id": first, "quantity": 1},
                {"product_id": second, "quantity": 1},
            ]}));
        async move {
            let response = request.send().await.map_err(|e| e.to_string())?;
            let status = response.status();
            if status.as_u16() != 202 {
                return Err(format!("{status}"));
            }
            let order: serde_json::Value = response.json().await.map_err(|e| e.to_string())?;
            order["id"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| "no id in the order".to_owned())
        }
    };

    progress::note("warm-up: 3 s at 20/s");
    load::fixed_rate(20.0, Duration::from_secs(3), MAX_IN_FLIGHT, &place).await;
    let mut runs = Vec::new();
    for round in 1..=CHECKOUT_ROUNDS {
        for rate in CHECKOUT_RATES {
            let samples = load::fixed_rate(rate, CHECKOUT_RUN, MAX_IN_FLIGHT, &place).await;
            let orders: Vec<String> = samples
                .iter()
                .filter_map(|s| s.outcome.as_ref().ok().cloned())
                .collect();
            let lags = event_lags(admin, &orders).await?;
            let run = report::CheckoutRun {
                rate,
                samples,
                lags,
            };
            progress::done(&format!(
                "round {round} at {rate}/s: {}",
                report::describe_run(&run)
            ));
            runs.push(run);
        }
    }
    Ok(report::Checkout {
        runs,
        seconds: CHECKOUT_RUN.as_secs_f64(),
    })
}

/// Two different products for the `i`th order, so that orders make co-purchase pairs
/// across the catalog.
fn two_products(products: &[Uuid], i: u64) -> (Uuid, Uuid) {
    let n = products.len() as u64;
    let first = i % n;
    // An offset of 1 to n-1: never the first product again.
    let second = (first + 1 + (i / n) % (n - 1)) % n;
    (products[first as usize], products[second as usize])
}

/// For each of `orders` (ids) that went all the way: milliseconds from its `OrderPlaced`
/// to recommendations processing its `OrderConfirmed`. Waits up to 30 s for the saga to
/// finish them all.
///
/// The split by hop (through catalog's and orders' `processed_events`) is not measured:
/// that six-way join ran for over ten minutes on the planner's choice of plan.
async fn event_lags(admin: &sqlx::PgPool, orders: &[String]) -> anyhow::Result<Vec<report::Lag>> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let totals: Vec<f64> = sqlx::query_scalar(
            "SELECT (EXTRACT(EPOCH FROM (seen.processed_at - placed.created_at)) * 1000)::float8
               FROM orders.outbox AS placed
               JOIN orders.outbox AS confirmed
                 ON confirmed.key = placed.key AND confirmed.payload->>'type' = 'OrderConfirmed'
               JOIN recommendations.processed_events AS seen
                 ON seen.event_id = confirmed.id AND seen.consumer_group = 'recommendations'
              WHERE placed.payload->>'type' = 'OrderPlaced' AND placed.key = ANY($1)",
        )
        .bind(orders)
        .fetch_all(admin)
        .await?;
        if totals.len() >= orders.len() || Instant::now() > deadline {
            return Ok(totals
                .into_iter()
                .map(|total| report::Lag {
                    total,
                    to_catalog: f64::NAN,
                    to_orders: f64::NAN,
                    to_recommendations: f64::NAN,
                })
                .collect());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_order_has_two_different_products_and_pairs_vary() {
        let products: Vec<Uuid> = (1..=5).map(Uuid::from_u128).collect();
        let mut pairs = std::collections::BTreeSet::new();
        for i in 0..40 {
            let (first, second) = two_products(&products, i);
            assert_ne!(first, second, "order {i}");
            pairs.insert((first, second));
        }
        assert_eq!(pairs.len(), 20, "every ordered pair of 5 products");
    }
}
