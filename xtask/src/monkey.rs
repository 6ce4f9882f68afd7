//! `cargo xtask chaos monkey [--minutes N]`: Netflix's Chaos Monkey, made runnable, on the
//! shop that `cargo xtask up` runs.
//!
//! While a customer places an order every 200 ms, the monkey does one thing at a time, at
//! random, with a pause to heal in between: kills a service (SIGKILL; `up` restarts it),
//! freezes one (SIGSTOP for 10 s, then SIGCONT), kills the broker and starts it again 5 s
//! later (its data is on disk), freezes the broker for 15 s, or cuts the shop off Postgres
//! for 10 s (its database refuses connections and the open ones are ended; the server
//! itself is shared with the rest of the machine, so it is not stopped). When time is up
//! the load stops, every accepted order is given two minutes to end (confirmed, rejected
//! or cancelled), and the monkey prints what happened: orders tried, accepted, refused by
//! status, final by status, still pending, and whether stock was conserved (the stock of
//! the products ordered, before = now + confirmed). Each product ordered has its stock
//! topped up to 1000 units first, so that orders are confirmed rather than sold out.

use crate::{broker, postgres, progress, services};
use anyhow::{Context, bail};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const USERS: &str = "http://127.0.0.1:8081";
const CATALOG: &str = "http://127.0.0.1:8082";
const ORDERS: &str = "http://127.0.0.1:8083";

/// Units each product has at least when the load starts: more than a 5-minute run's orders
/// (5 a second over 20 products) take.
const STOCK_PER_PRODUCT: i32 = 1_000;

/// How long every accepted order gets to end once the load stops.
const SETTLE_PATIENCE: Duration = Duration::from_secs(120);

/// What the load saw.
#[derive(Debug, Default)]
struct Tally {
    tried: usize,
    accepted: Vec<String>,
    refused: BTreeMap<String, usize>,
}

pub async fn run(args: &[String]) -> anyhow::Result<()> {
    let minutes: f64 = match args {
        [] => 5.0,
        [flag, value] if flag == "--minutes" => value.parse().context("--minutes N")?,
        _ => bail!("usage: cargo xtask chaos monkey [--minutes N]"),
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?;
    let token = customer(&http).await?;
    // Enough stock for every order of the run: the saga confirms rather than sells out.
    let ids = products(&http)
        .await?
        .into_iter()
        .map(|(id, _)| id.parse::<uuid::Uuid>())
        .collect::<Result<Vec<_>, _>>()?;
    let products: Vec<(String, i64)> = postgres::top_up_stock(&ids, STOCK_PER_PRODUCT)
        .await
        .context("topping up the stock")?
        .into_iter()
        .map(|(id, stock)| (id.to_string(), stock))
        .collect();
    let stock_before: BTreeMap<String, i64> = products.iter().cloned().collect();
    progress::step(&format!(
        "chaos monkey for {minutes} minute(s): an order every 200 ms, one fault at a time"
    ));

    let tally = Arc::new(Mutex::new(Tally::default()));
    let stop = tokio_util::sync::CancellationToken::new();
    let load = tokio::spawn(place_orders(
        http.clone(),
        token.clone(),
        products.iter().map(|(id, _)| id.clone()).collect(),
        tally.clone(),
        stop.clone(),
    ));
    let deadline = Instant::now() + Duration::from_secs_f64(minutes * 60.0);
    let mut faults = 0;
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(10 + random(20) as u64)).await;
        if Instant::now() >= deadline {
            break;
        }
        faults += 1;
        if let Err(error) = strike().await {
            progress::note(&format!("the monkey missed: {error:#}"));
        }
    }
    stop.cancel();
    load.await.context("the load task")?;

    progress::step("waiting for every accepted order to end");
    let accepted = tally.lock().map(|t| t.accepted.clone()).unwrap_or_default();
    let finals = settle(&http, &token, &accepted).await?;
    let stock_now: BTreeMap<String, i64> = self::products(&http).await?.into_iter().collect();
    let confirmed_quantity = confirmed_quantities(&http, &token, &finals).await?;
    let tally = tally
        .lock()
        .map_err(|_| anyhow::anyhow!("tally poisoned"))?;
    let pending = finals.values().filter(|s| s.as_str() == "pending").count();
    let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
    for status in finals.values() {
        *by_status.entry(status.as_str()).or_default() += 1;
    }
    let conserved = stock_before.iter().all(|(id, before)| {
        let now = stock_now.get(id).copied().unwrap_or_default();
        *before == now + confirmed_quantity.get(id).copied().unwrap_or_default()
    });
    println!("\n  faults injected       {faults}");
    println!("  orders tried          {}", tally.tried);
    println!("  accepted              {}", tally.accepted.len());
    for (why, count) in &tally.refused {
        println!("  refused ({why:<12}) {count}");
    }
    for (status, count) in &by_status {
        println!("  final: {status:<14} {count}");
    }
    println!("  still pending         {pending}");
    println!(
        "  stock conserved       {}",
        if conserved { "yes" } else { "NO" }
    );
    if pending > 0 || !conserved {
        bail!("the shop did not heal: {pending} pending, stock conserved: {conserved}");
    }
    progress::done("the shop healed from every fault");
    Ok(())
}

/// A random number below `n`, from a v4 UUID's random bits (no RNG crate needed for this).
fn random(n: u128) -> u128 {
    uuid::Uuid::new_v4().as_u128() % n
}

/// One fault, then its healing.
async fn strike() -> anyhow::Result<()> {
    let names: Vec<&str> = services::SERVICES.iter().map(|s| s.name).collect();
    match random(5) {
        0 => {
            let name = names[random(names.len() as u128) as usize];
            progress::note(&format!("monkey: SIGKILL {name} (`up` restarts it)"));
            signal(&pid_of(name)?, "KILL")
        }
        1 => {
            let name = names[random(names.len() as u128) as usize];
            let pid = pid_of(name)?;
            progress::note(&format!("monkey: freezing {name} for 10 s"));
            signal(&pid, "STOP")?;
            tokio::time::sleep(Duration::from_secs(10)).await;
            signal(&pid, "CONT")
        }
        2 => {
            let pid = pid_of("tansu")?;
            progress::note("monkey: SIGKILL the broker, started again 5 s later");
            signal(&pid, "KILL")?;
            tokio::time::sleep(Duration::from_secs(5)).await;
            broker::ensure_running(broker::Storage::Durable).await
        }
        3 => {
            let pid = pid_of("tansu")?;
            progress::note("monkey: freezing the broker for 15 s");
            signal(&pid, "STOP")?;
            tokio::time::sleep(Duration::from_secs(15)).await;
            signal(&pid, "CONT")
        }
        _ => {
            progress::note("monkey: cutting the shop off Postgres for 10 s");
            let cut = postgres::disconnect_shop().await;
            tokio::time::sleep(Duration::from_secs(10)).await;
            // Connected again even if the cut went wrong halfway.
            postgres::reconnect_shop().await?;
            cut
        }
    }
}

/// The pid `up` (or xtask's broker) recorded for `name`.
fn pid_of(name: &str) -> anyhow::Result<String> {
    crate::chaos::read_pid(name).with_context(|| {
        format!(
            "{name} is not running ({}): run `cargo xtask up`",
            crate::chaos::pid_file(name).display()
        )
    })
}

fn signal(pid: &str, name: &str) -> anyhow::Result<()> {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid)
        .status()?;
    anyhow::ensure!(status.success(), "kill -{name} {pid}: {status}");
    Ok(())
}

/// A customer of the monkey's own, signed in.
async fn customer(http: &reqwest::Client) -> anyhow::Result<String> {
    let email = format!("monkey-{}@example.com", uuid::Uuid::new_v4().simple());
    let password = "chaos monkey's password";
    let account = json!({ "email": email, "password": password, "name": "Chaos Monkey" });
    let registered = http
        .post(format!("{USERS}/v1/users"))
        .json(&account)
        .send()
        .await
        .context("users does not answer: is `cargo xtask up` running?")?;
    anyhow::ensure!(
        registered.status().is_success(),
        "sign-up: {}",
        registered.status()
    );
    crate::services::sign_in(http, USERS, &email, password).await
}

/// The first page of products, with their stock.
async fn products(http: &reqwest::Client) -> anyhow::Result<Vec<(String, i64)>> {
    let page: Value = http
        .get(format!("{CATALOG}/v1/products?per_page=20"))
        .send()
        .await
        .context("catalog does not answer")?
        .json()
        .await?;
    Ok(page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| Some((p["id"].as_str()?.to_owned(), p["stock"].as_i64()?)))
        .collect())
}

async fn place_orders(
    http: reqwest::Client,
    token: String,
    products: Vec<String>,
    tally: Arc<Mutex<Tally>>,
    stop: tokio_util::sync::CancellationToken,
) {
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    while !stop.is_cancelled() {
        tick.tick().await;
        let product = &products[random(products.len() as u128) as usize];
        let body = json!({ "items": [{ "product_id": product, "quantity": 1 }] });
        let answer = http
            .post(format!("{ORDERS}/v1/orders"))
            .bearer_auth(&token)
            .header("idempotency-key", uuid::Uuid::new_v4().to_string())
            .json(&body)
            .send()
            .await;
        let outcome = match answer {
            Ok(response) if response.status().is_success() => response
                .json::<Value>()
                .await
                .ok()
                .and_then(|order| order["id"].as_str().map(str::to_owned))
                .ok_or_else(|| "no order id".to_owned()),
            Ok(response) => Err(response.status().as_u16().to_string()),
            Err(error) if error.is_timeout() => Err("timeout".to_owned()),
            Err(_) => Err("no answer".to_owned()),
        };
        if let Ok(mut tally) = tally.lock() {
            tally.tried += 1;
            match outcome {
                Ok(id) => tally.accepted.push(id),
                Err(why) => *tally.refused.entry(why).or_default() += 1,
            }
        }
    }
}

/// Each accepted order's status once it has ended, or `pending` after the patience.
async fn settle(
    http: &reqwest::Client,
    token: &str,
    ids: &[String],
) -> anyhow::Result<BTreeMap<String, String>> {
    let deadline = Instant::now() + SETTLE_PATIENCE;
    let mut statuses = BTreeMap::new();
    loop {
        for id in ids {
            if statuses.get(id).is_some_and(|s: &String| s != "pending") {
                continue;
            }
            let status = order(http, token, id)
                .await
                .ok()
                .and_then(|o| o["status"].as_str().map(str::to_owned))
                .unwrap_or_else(|| "pending".to_owned());
            statuses.insert(id.clone(), status);
        }
        let pending = statuses
            .values()
            .filter(|s| s.as_str() == "pending")
            .count();
        if pending == 0 || Instant::now() > deadline {
            return Ok(statuses);
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

async fn order(http: &reqwest::Client, token: &str, id: &str) -> anyhow::Result<Value> {
    Ok(http
        .get(format!("{ORDERS}/v1/orders/{id}"))
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?)
}

/// Units confirmed per product, over the confirmed orders.
async fn confirmed_quantities(
    http: &reqwest::Client,
    token: &str,
    finals: &BTreeMap<String, String>,
) -> anyhow::Result<BTreeMap<String, i64>> {
    let mut quantities = BTreeMap::new();
    for (id, status) in finals {
        if status != "confirmed" {
            continue;
        }
        let order = order(http, token, id).await?;
        for line in order["items"].as_array().into_iter().flatten() {
            if let (Some(product), Some(quantity)) =
                (line["product_id"].as_str(), line["quantity"].as_i64())
            {
                *quantities.entry(product.to_owned()).or_default() += quantity;
            }
        }
    }
    Ok(quantities)
}
