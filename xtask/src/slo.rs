//! `cargo xtask slo [--every SECONDS]`: the availability arithmetic of chained services,
//! measured on the shop that `cargo xtask up` runs.
//!
//! Reads every service's `/metrics` (the ports of `services::SERVICES`), counts the answers
//! in `http_server_requests_total` that were not 5xx, and prints, side by side: each hop's
//! measured availability; the chained availability computed by multiplying the
//! dependencies' (the course overview's arithmetic: a front at 99.99 % calling 30 services
//! at 99.98 % is 0.9999 × 0.9998^30 ≈ 99.4 %); and the availability the storefront
//! actually measured end to end. Then the storefront's two SLOs (deploy/prometheus/rules/
//! slo.yml) with the share of their error budget spent.
//!
//! Without `--every` the counts are since each process started; with it, the table is
//! printed every SECONDS for that window only (counter resets from restarts handled like
//! Prometheus' rate()), which is how budgets are seen burning during
//! `cargo xtask chaos monkey`. Probes (/health/*) and scrapes (/metrics) are left out, as
//! in the SLO rules.

use crate::services;
use anyhow::{Context, bail};
use shop_testing::prometheus::{Exposition, Sample, parse};
use std::collections::BTreeMap;
use std::time::Duration;

/// The storefront availability SLO: the target in deploy/prometheus/rules/slo.yml.
const AVAILABILITY_OBJECTIVE: f64 = 0.999;
/// The checkout latency SLO: 99 % of `POST /checkout` within `LATENCY_THRESHOLD` seconds.
const LATENCY_OBJECTIVE: f64 = 0.99;
/// A bucket boundary of shop_telemetry::metrics::LATENCY_BUCKETS, as the exporter writes it.
const LATENCY_THRESHOLD: &str = "0.5";
const REQUESTS: &str = "http_server_requests_total";
const DURATION: &str = "http_server_request_duration_seconds";
/// What the storefront's client refused to send (open breaker, full bulkhead): failures
/// the dependency never saw. shop-http counts no other client-side outcome.
const REFUSED: &str = "http_client_rejected_total";

pub async fn run(args: &[String]) -> anyhow::Result<()> {
    let every = match args {
        [] => None,
        [flag, seconds] if flag == "--every" => Some(Duration::from_secs(
            seconds.parse().context("--every SECONDS")?,
        )),
        _ => bail!("usage: cargo xtask slo [--every SECONDS]"),
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()?;
    let Some(every) = every else {
        let now = scrape_all(&http).await;
        if now.values().all(Option::is_none) {
            bail!("no service answered on /metrics: is `cargo xtask up` running?");
        }
        print!("{}", table(&now, "since each service started"));
        return Ok(());
    };
    let mut before = scrape_all(&http).await;
    loop {
        tokio::time::sleep(every).await;
        let now = scrape_all(&http).await;
        let window: Scrapes = now
            .iter()
            .map(|(name, after)| {
                let increase = match (before.get(name).cloned().flatten(), after) {
                    (Some(before), Some(after)) => Some(increase(&before, after)),
                    // Unreachable now, or before: no window to measure.
                    _ => None,
                };
                (*name, increase)
            })
            .collect();
        println!();
        print!(
            "{}",
            table(&window, &format!("over the last {} s", every.as_secs()))
        );
        before = now;
    }
}

/// Each service's scrape, `None` where /metrics did not answer (stopped, frozen).
type Scrapes = BTreeMap<&'static str, Option<Exposition>>;

async fn scrape_all(http: &reqwest::Client) -> Scrapes {
    let mut scrapes = Scrapes::new();
    for service in services::SERVICES {
        let url = format!("http://127.0.0.1:{}/metrics", service.port);
        let text = async {
            http.get(&url)
                .send()
                .await?
                .error_for_status()?
                .text()
                .await
        };
        let exposition = match text.await {
            Ok(text) => parse(&text)
                .map_err(|error| eprintln!("  {}: /metrics unreadable: {error}", service.name))
                .ok(),
            Err(_) => None,
        };
        scrapes.insert(service.name, exposition);
    }
    scrapes
}

/// Per series, how much each counter grew from `before` to `after`; a counter that went
/// down was reset (the process restarted), so all of its current value is new, as in
/// Prometheus' rate(). Series new in `after` count whole.
fn increase(before: &Exposition, after: &Exposition) -> Exposition {
    let previous: BTreeMap<(&str, &BTreeMap<String, String>), f64> = before
        .samples
        .iter()
        .map(|sample| ((sample.name.as_str(), &sample.labels), sample.value))
        .collect();
    let samples = after
        .samples
        .iter()
        .map(|sample| {
            let earlier = previous
                .get(&(sample.name.as_str(), &sample.labels))
                .copied()
                .unwrap_or(0.0);
            let value = if sample.value >= earlier {
                sample.value - earlier
            } else {
                sample.value
            };
            Sample {
                value,
                ..sample.clone()
            }
        })
        .collect();
    Exposition {
        samples,
        types: after.types.clone(),
    }
}

/// Answers counted by a service, probes and scrapes left out.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Answers {
    all: f64,
    server_errors: f64,
}

impl Answers {
    fn of(exposition: &Exposition) -> Self {
        exposition
            .named(REQUESTS)
            .filter(|sample| !is_probe(sample))
            .fold(Answers::default(), |total, sample| Answers {
                all: total.all + sample.value,
                server_errors: total.server_errors
                    + if sample
                        .labels
                        .get("status")
                        .is_some_and(|s| s.starts_with('5'))
                    {
                        sample.value
                    } else {
                        0.0
                    },
            })
    }

    /// non-5xx / all; `None` without requests (0/0 is no availability, not 100 %).
    fn availability(self) -> Option<f64> {
        (self.all > 0.0).then(|| 1.0 - self.server_errors / self.all)
    }
}

fn is_probe(sample: &Sample) -> bool {
    sample
        .labels
        .get("route")
        .is_some_and(|route| route.starts_with("/health/") || route == "/metrics")
}

/// Checkouts (`POST /checkout`) and how many took at most `LATENCY_THRESHOLD` seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Checkouts {
    all: f64,
    fast: f64,
}

impl Checkouts {
    fn of(exposition: &Exposition) -> Self {
        let checkout = |sample: &&Sample| {
            sample.labels.get("method").map(String::as_str) == Some("POST")
                && sample.labels.get("route").map(String::as_str) == Some("/checkout")
        };
        Checkouts {
            all: exposition
                .named(&format!("{DURATION}_count"))
                .filter(checkout)
                .map(|sample| sample.value)
                .sum(),
            fast: exposition
                .named(&format!("{DURATION}_bucket"))
                .filter(checkout)
                .filter(|sample| {
                    sample.labels.get("le").map(String::as_str) == Some(LATENCY_THRESHOLD)
                })
                .map(|sample| sample.value)
                .sum(),
        }
    }

    fn share_fast(self) -> Option<f64> {
        (self.all > 0.0).then(|| self.fast / self.all)
    }
}

/// The availability of a request that needs every hop, if the hops fail independently.
fn chained(availabilities: &[f64]) -> f64 {
    availabilities.iter().product()
}

/// The share of an error budget spent: the share that failed / the share allowed to.
fn budget_spent(good_share: f64, objective: f64) -> f64 {
    (1.0 - good_share) / (1.0 - objective)
}

fn percent(share: f64) -> String {
    format!("{:.3} %", share * 100.0)
}

/// The side-by-side table.
fn table(scrapes: &Scrapes, period: &str) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "  availability {period} (non-5xx / all answers; probes left out)\n"
    );
    let _ = writeln!(
        out,
        "  {:<34} {:>10} {:>8} {:>13}",
        "hop", "answers", "5xx", "availability"
    );
    let storefront = scrapes.get("storefront").cloned().flatten();
    let mut measured = Vec::new();
    let mut missing = Vec::new();
    for service in services::SERVICES.iter().filter(|s| s.name != "storefront") {
        let name = service.name;
        let Some(exposition) = scrapes.get(name).cloned().flatten() else {
            let _ = writeln!(
                out,
                "  {name:<34} {:>10} {:>8} {:>13}",
                "-", "-", "no /metrics"
            );
            missing.push(name);
            continue;
        };
        let answers = Answers::of(&exposition);
        let availability = answers.availability();
        let refused = storefront
            .as_ref()
            .map(|s| refused_by_storefront(s, name))
            .unwrap_or(0.0);
        let _ = writeln!(
            out,
            "  {name:<34} {:>10} {:>8} {:>13}{}",
            answers.all,
            answers.server_errors,
            availability
                .map(percent)
                .unwrap_or_else(|| "no answers".into()),
            if refused > 0.0 {
                format!("   + {refused} refused by the storefront's client before sending")
            } else {
                String::new()
            }
        );
        match availability {
            Some(a) => measured.push((name, a)),
            None => missing.push(name),
        }
    }
    let names: Vec<&str> = measured.iter().map(|(name, _)| *name).collect();
    let product = chained(&measured.iter().map(|(_, a)| *a).collect::<Vec<_>>());
    let _ = writeln!(
        out,
        "  {:<34} {:>10} {:>8} {:>13}",
        "chained = product of the above",
        "",
        "",
        if names.is_empty() {
            "-".into()
        } else {
            percent(product)
        }
    );
    if !names.is_empty() {
        let _ = writeln!(out, "    ({})", names.join(" × "));
    }
    if !missing.is_empty() {
        let _ = writeln!(out, "    (without {}: not measured)", missing.join(", "));
    }
    let end_to_end = storefront.as_ref().map(Answers::of);
    match end_to_end {
        Some(answers) => {
            let _ = writeln!(
                out,
                "  {:<34} {:>10} {:>8} {:>13}",
                "storefront, measured end to end",
                answers.all,
                answers.server_errors,
                answers
                    .availability()
                    .map(percent)
                    .unwrap_or_else(|| "no answers".into())
            );
        }
        None => {
            let _ = writeln!(
                out,
                "  {:<34} {:>10} {:>8} {:>13}",
                "storefront", "-", "-", "no /metrics"
            );
        }
    }
    let _ = writeln!(
        out,
        "\n  The course overview's example: 0.9999 × 0.9998^30 = {}.",
        percent(chained(&overview_example()))
    );
    let _ = writeln!(
        out,
        "  The product assumes every request needs every hop and that hops fail independently;\n  \
         the storefront does better where it has a fallback (recommendations) or a page needs\n  \
         fewer hops, and worse where a hop that is down counts nothing at all (its callers' 5xx do)."
    );
    if let Some(storefront) = &storefront {
        let _ = writeln!(out, "\n  SLOs (deploy/prometheus/rules/slo.yml):");
        let answers = Answers::of(storefront);
        let _ = writeln!(
            out,
            "    storefront-availability  target {}: {}",
            percent(AVAILABILITY_OBJECTIVE),
            answers
                .availability()
                .map(|a| format!(
                    "{}, error budget spent {:.0} %",
                    percent(a),
                    budget_spent(a, AVAILABILITY_OBJECTIVE) * 100.0
                ))
                .unwrap_or_else(|| "no answers".into())
        );
        let checkouts = Checkouts::of(storefront);
        let _ = writeln!(
            out,
            "    checkout-latency         target {} within {LATENCY_THRESHOLD} s: {}",
            percent(LATENCY_OBJECTIVE),
            checkouts
                .share_fast()
                .map(|share| format!(
                    "{} of {} checkouts, error budget spent {:.0} %",
                    percent(share),
                    checkouts.all,
                    budget_spent(share, LATENCY_OBJECTIVE) * 100.0
                ))
                .unwrap_or_else(|| "no checkouts".into())
        );
    }
    out
}

/// Calls to `dependency` the storefront's client refused to send.
fn refused_by_storefront(storefront: &Exposition, dependency: &str) -> f64 {
    storefront
        .named(REFUSED)
        .filter(|sample| sample.labels.get("dependency").map(String::as_str) == Some(dependency))
        .map(|sample| sample.value)
        .sum()
}

/// A front at 99.99 % calling 30 services at 99.98 % each.
fn overview_example() -> Vec<f64> {
    std::iter::once(0.9999)
        .chain(std::iter::repeat_n(0.9998, 30))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusRecorder};

    /// The exporter the services use, with their buckets (shop-telemetry).
    fn recorder() -> PrometheusRecorder {
        PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Suffix("_seconds".into()),
                shop_telemetry::metrics::LATENCY_BUCKETS,
            )
            .unwrap()
            .build_recorder()
    }

    /// Records `count` answers the way shop-server's middleware does.
    fn answer(method: &str, route: &str, status: u16, seconds: f64, count: u64) {
        let labels = [
            ("method", method.to_owned()),
            ("route", route.to_owned()),
            ("status", status.to_string()),
        ];
        metrics::counter!(REQUESTS, &labels).increment(count);
        for _ in 0..count {
            metrics::histogram!(DURATION, &labels).record(seconds);
        }
    }

    /// Real exposition text from the real exporter.
    fn exposition(record: impl FnOnce()) -> Exposition {
        let recorder = recorder();
        metrics::with_local_recorder(&recorder, record);
        parse(&recorder.handle().render()).unwrap()
    }

    /// A real storefront's /metrics while its four dependencies were down
    /// (xtask/fixtures/storefront-dependencies-down.prom says how it was taken).
    const DEPENDENCIES_DOWN: &str = include_str!("../fixtures/storefront-dependencies-down.prom");

    #[test]
    fn a_real_scrape_of_a_storefront_whose_dependencies_are_down() {
        let scrape = parse(DEPENDENCIES_DOWN).unwrap();
        // GET / x3, /api/home x3, /api/products x3: 503; POST /checkout 403; GET /nope
        // 404. The three readiness probes are not answers to a customer.
        let answers = Answers::of(&scrape);
        assert_eq!(
            answers,
            Answers {
                all: 11.0,
                server_errors: 9.0
            }
        );
        assert!((answers.availability().unwrap() - 2.0 / 11.0).abs() < 1e-12);
        // The refused checkout took well under 0.5 s.
        assert_eq!(
            Checkouts::of(&scrape),
            Checkouts {
                all: 1.0,
                fast: 1.0
            }
        );
        // Its breaker for catalog opened: two calls never left the storefront.
        assert_eq!(refused_by_storefront(&scrape, "catalog"), 2.0);
        assert_eq!(refused_by_storefront(&scrape, "users"), 0.0);
    }

    #[test]
    fn the_overview_arithmetic() {
        let product = chained(&overview_example());
        assert!((product - 0.993_92).abs() < 1e-5, "{product}");
        assert_eq!(percent(product), "99.392 %");
        assert_eq!(chained(&[0.99, 0.5]), 0.495);
        assert_eq!(chained(&[]), 1.0);
    }

    #[test]
    fn availability_counts_5xx_and_leaves_probes_out() {
        let scrape = exposition(|| {
            answer("GET", "/", 200, 0.01, 900);
            answer("GET", "/products/{id}", 404, 0.01, 50);
            answer("POST", "/checkout", 502, 0.2, 30);
            answer("GET", "/", 503, 0.01, 20);
            answer("GET", "/health/ready", 503, 0.001, 500);
            answer("GET", "/metrics", 200, 0.001, 100);
        });
        let answers = Answers::of(&scrape);
        assert_eq!(
            answers,
            Answers {
                all: 1000.0,
                server_errors: 50.0
            }
        );
        assert!((answers.availability().unwrap() - 0.95).abs() < 1e-12);
        assert_eq!(Answers::default().availability(), None);
    }

    #[test]
    fn checkout_latency_reads_the_half_second_bucket() {
        assert!(
            shop_telemetry::metrics::LATENCY_BUCKETS.contains(&0.5),
            "the SLO threshold must be a bucket boundary"
        );
        let scrape = exposition(|| {
            answer("POST", "/checkout", 303, 0.1, 90);
            answer("POST", "/checkout", 303, 0.7, 8);
            answer("POST", "/checkout", 502, 3.0, 2);
            answer("GET", "/checkout", 200, 0.9, 50);
            answer("GET", "/", 200, 0.9, 50);
        });
        let checkouts = Checkouts::of(&scrape);
        assert_eq!(
            checkouts,
            Checkouts {
                all: 100.0,
                fast: 90.0
            }
        );
        assert_eq!(checkouts.share_fast(), Some(0.9));
        // 10 % slow against a 1 % budget: ten budgets.
        assert!((budget_spent(0.9, LATENCY_OBJECTIVE) - 10.0).abs() < 1e-9);
    }

    #[test]
    fn a_window_is_the_increase_and_survives_a_restart() {
        let before = exposition(|| {
            answer("GET", "/", 200, 0.01, 100);
            answer("GET", "/", 500, 0.01, 10);
        });
        // Restarted: 200s counted anew from zero; the 500s grew; a new series appeared.
        let after = exposition(|| {
            answer("GET", "/", 200, 0.01, 40);
            answer("GET", "/", 500, 0.01, 15);
            answer("GET", "/", 502, 0.01, 5);
        });
        let window = Answers::of(&increase(&before, &after));
        assert_eq!(
            window,
            Answers {
                all: 50.0,
                server_errors: 10.0
            }
        );
    }

    #[test]
    fn the_objectives_are_those_of_the_rules() {
        let rules = std::fs::read_to_string(
            crate::workspace::root().join("deploy/prometheus/rules/slo.yml"),
        )
        .unwrap();
        for (slo, objective) in [
            ("storefront-availability", AVAILABILITY_OBJECTIVE),
            ("checkout-latency", LATENCY_OBJECTIVE),
        ] {
            let stated = format!("labels: {{slo: {slo}}}\n        expr: vector({objective})");
            assert!(rules.contains(&stated), "slo.yml should state {stated}");
        }
        assert!(rules.contains(&format!("le=\"{LATENCY_THRESHOLD}\"")));
    }

    #[test]
    fn the_table_shows_hops_the_product_and_the_measured_end_to_end() {
        let healthy = |errors: u64| {
            Some(exposition(move || {
                answer("GET", "/v1/x", 200, 0.01, 1000 - errors);
                answer("GET", "/v1/x", 500, 0.01, errors);
            }))
        };
        let storefront = exposition(|| {
            answer("GET", "/", 200, 0.01, 995);
            answer("GET", "/", 502, 0.01, 5);
            metrics::counter!(REFUSED, "dependency" => "orders", "reason" => "circuit-open")
                .increment(7);
        });
        let scrapes: Scrapes = [
            ("users", healthy(0)),
            ("catalog", healthy(10)),
            ("orders", healthy(20)),
            ("recommendations", None),
            ("storefront", Some(storefront)),
        ]
        .into_iter()
        .collect();
        let table = table(&scrapes, "since each service started");
        // Columns compared, not their padding.
        let squeezed = table.split_whitespace().collect::<Vec<_>>().join(" ");
        // 1.0 × 0.99 × 0.98 = 0.9702
        for line in [
            "catalog 1000 10 99.000 %",
            "orders 1000 20 98.000 % + 7 refused",
            "recommendations - - no /metrics",
            "chained = product of the above 97.020 %",
            "(users × catalog × orders)",
            "(without recommendations: not measured)",
            "storefront, measured end to end 1000 5 99.500 %",
            "0.9999 × 0.9998^30 = 99.392 %",
            "target 99.900 %: 99.500 %, error budget spent 500 %",
            "no checkouts",
        ] {
            assert!(squeezed.contains(line), "missing `{line}` in\n{table}");
        }
    }
}
