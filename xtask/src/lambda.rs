//! `cargo xtask lambda`: the recommendations service as an AWS Lambda function, run here
//! under cargo-lambda's emulator of the Lambda runtime API and measured beside the
//! container, side by side.
//!
//! 1. cargo-lambda, from its PyPI wheel (the binary inside), into `target/cargo-lambda-venv`,
//!    once;
//! 2. `recommendations` and `recommendations-lambda` (feature `lambda`) in one build, one
//!    profile for both;
//! 3. a scratch database: the container migrates it (that first start is not counted),
//!    then a few co-purchase rows stand for what its consumer would have learned;
//! 4. each start, in turns: the container, from spawning the process to `/health/ready`
//!    answering 200; the function, from spawning the process (with the runtime API pointed
//!    at a fresh `cargo lambda watch --only-lambda-apis`) to the answer of a Function URL
//!    request sent at once;
//! 5. after the first start of each, warm requests one at a time, the same request to both;
//!    the answers must be equal.
//!
//! Every port is picked free (nothing on `cargo xtask up`'s 8080-8084 or 9092): the
//! container gets a broker of its own, so that its consumer never joins the demo's group.

use crate::{postgres, progress, services, workspace};
use anyhow::{Context, bail, ensure};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The cargo-lambda wheel, pinned. Installed without its `ziglang` dependency (440 MB),
/// which only `cargo lambda build`'s cross-compilation needs, not the emulator.
const CARGO_LAMBDA: &str = "cargo-lambda==1.9.2";
/// The request both answer: co-purchase, from the seeded rows.
const LIMIT: u32 = 5;
/// How long a start may take before the run gives up (a debug build on a busy machine).
const START_TIMEOUT: Duration = Duration::from_secs(60);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How much to measure.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Starts of each; the median is reported.
    pub starts: usize,
    /// Warm requests to each, one at a time.
    pub requests: usize,
    pub profile: services::Profile,
}

impl Plan {
    /// What `cargo xtask lambda` measures unless told otherwise.
    pub const FULL: Plan = Plan {
        starts: 5,
        requests: 200,
        profile: services::Profile::Debug,
    };
    /// What `cargo xtask test` runs: one start each, a few warm requests.
    pub const SHORT: Plan = Plan {
        starts: 1,
        requests: 20,
        profile: services::Profile::Debug,
    };

    /// `[--starts N] [--requests N] [--release]`, within bounds.
    pub fn from_args(args: &[String]) -> anyhow::Result<Plan> {
        let mut plan = Plan::FULL;
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut number = |name: &str, max: usize| -> anyhow::Result<usize> {
                let value = args
                    .next()
                    .with_context(|| format!("{name} needs a number"))?;
                let n: usize = value
                    .parse()
                    .with_context(|| format!("{name} {value}: not a number"))?;
                ensure!((1..=max).contains(&n), "{name} must be between 1 and {max}");
                Ok(n)
            };
            match arg.as_str() {
                "--starts" => plan.starts = number("--starts", 20)?,
                "--requests" => plan.requests = number("--requests", 5_000)?,
                "--release" => plan.profile = services::Profile::Release,
                other => bail!("unknown option `{other}` (--starts N, --requests N, --release)"),
            }
        }
        Ok(plan)
    }
}

/// What was measured of one of the two.
#[derive(Debug, Default)]
struct Measured {
    /// Spawn to first answer (function) or to ready (container), one per start.
    starts: Vec<Duration>,
    warm: Vec<Duration>,
}

pub async fn run(plan: Plan) -> anyhow::Result<()> {
    progress::step(&format!("cargo-lambda ({CARGO_LAMBDA}, PyPI)"));
    let cargo_lambda = install_cargo_lambda()?;

    progress::step("building recommendations and recommendations-lambda (feature `lambda`)");
    let mut build = vec!["build", "--bins"];
    if plan.profile == services::Profile::Release {
        build.extend([
            "--release",
            "--package",
            "recommendations",
            "--features",
            "lambda",
        ]);
    } else {
        // As the test suites build it (`cargo xtask test` runs this after them): nothing
        // new to build.
        build.push("--workspace");
        build.extend(workspace::TEST_FEATURES);
    }
    workspace::cargo(&build)?;
    let container_binary = plan.profile.binary("recommendations");
    let function_binary = plan.profile.binary("recommendations-lambda");

    progress::step("a scratch database and a broker of the container's own");
    postgres::ensure_running().await?;
    crate::tansu::binary()?;
    let broker = shop_testing::PrivateBroker::start().await?;
    let database = format!("harbor_test_lambda_{}", std::process::id());
    shop_db::provision::provision(&postgres::admin_url(), &database).await?;
    let logs = Logs::create()?;
    let setup = Setup {
        database_url: postgres::service_url("recommendations", &database)?,
        brokers: broker.brokers(),
        logs,
    };
    let outcome = measure(
        plan,
        &setup,
        &container_binary,
        &function_binary,
        &cargo_lambda,
    )
    .await;
    shop_db::provision::drop_database(&postgres::admin_url(), &database).await?;
    let (function, container) = outcome?;
    print_table(plan, &function, &container);
    Ok(())
}

struct Setup {
    database_url: String,
    brokers: String,
    logs: Logs,
}

/// Where the three processes write: `target/harbor/logs/lambda-*.log`, new each run.
struct Logs {
    dir: PathBuf,
}

impl Logs {
    fn create() -> anyhow::Result<Logs> {
        let dir = workspace::state_dir().join("logs");
        std::fs::create_dir_all(&dir)?;
        for name in ["function", "container", "emulator"] {
            File::create(dir.join(format!("lambda-{name}.log")))?;
        }
        Ok(Logs { dir })
    }

    /// Appends, so that every start's lines stay.
    fn for_process(&self, name: &str) -> anyhow::Result<(Stdio, Stdio)> {
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(self.path(name))?;
        Ok((Stdio::from(file.try_clone()?), Stdio::from(file)))
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("lambda-{name}.log"))
    }
}

async fn measure(
    plan: Plan,
    setup: &Setup,
    container_binary: &Path,
    function_binary: &Path,
    cargo_lambda: &Path,
) -> anyhow::Result<(Measured, Measured)> {
    let http = reqwest::Client::builder().timeout(START_TIMEOUT).build()?;
    progress::step("first container start: applies the migrations (not counted)");
    let products = {
        let container = Container::start(container_binary, setup)?;
        container.wait_until_ready(&http).await?;
        seed(&setup.database_url).await?
    };
    let query = format!(
        "/v1/recommendations?product_id={}&limit={LIMIT}",
        products[0]
    );

    progress::step(&format!(
        "{} start(s) of each, then {} warm requests to each",
        plan.starts, plan.requests
    ));
    let (mut function, mut container) = (Measured::default(), Measured::default());
    let mut answers = Vec::new();
    for round in 0..plan.starts {
        let started = Container::start(container_binary, setup)?;
        container
            .starts
            .push(started.wait_until_ready(&http).await?);
        if round == 0 {
            let url = format!("http://{}{query}", started.addr);
            answers.push(ask(&http, &url).await?);
            container.warm = warm(&http, &url, plan.requests).await?;
        }
        drop(started);

        let emulator = Emulator::start(cargo_lambda, &setup.logs).await?;
        let url = format!("http://{}{query}", emulator.addr);
        let spawned = Instant::now();
        let _function = emulator.start_function(function_binary, setup)?;
        let first = ask(&http, &url)
            .await
            .context("the function's first answer (see target/harbor/logs/lambda-function.log)")?;
        function.starts.push(spawned.elapsed());
        if round == 0 {
            answers.push(first);
            function.warm = warm(&http, &url, plan.requests).await?;
        }
        progress::done(&format!(
            "start {}: function {:.1} ms to its first answer, container {:.1} ms to ready",
            round + 1,
            millis(function.starts[round]),
            millis(container.starts[round])
        ));
    }
    ensure!(
        answers[0] == answers[1],
        "the function and the container answer differently:\n  container {}\n  function  {}",
        answers[0],
        answers[1]
    );
    ensure!(
        answers[0]["source"] == "co-purchase",
        "expected the seeded co-purchase answer, got {}",
        answers[0]
    );
    progress::done("the function and the container gave the same answer");
    Ok((function, container))
}

/// A GET that must answer 200 with JSON.
async fn ask(http: &reqwest::Client, url: &str) -> anyhow::Result<serde_json::Value> {
    let response = http.get(url).send().await?;
    let status = response.status();
    let body = response.text().await?;
    ensure!(status.is_success(), "GET {url}: {status} {body}");
    serde_json::from_str(&body).with_context(|| format!("GET {url}: not JSON: {body}"))
}

/// `n` requests, one at a time, each timed.
async fn warm(http: &reqwest::Client, url: &str, n: usize) -> anyhow::Result<Vec<Duration>> {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        let response = http.get(url).timeout(REQUEST_TIMEOUT).send().await?;
        let status = response.status();
        response.bytes().await?;
        times.push(started.elapsed());
        ensure!(status.is_success(), "GET {url}: {status}");
    }
    Ok(times)
}

/// Co-purchase rows for three new products, as the consumer records them (each pair both
/// ways); the products, the one asked about first.
async fn seed(database_url: &str) -> anyhow::Result<[uuid::Uuid; 3]> {
    let products = [(); 3].map(|()| uuid::Uuid::new_v4());
    let [viewed, often, once] = products;
    let pool = sqlx::PgPool::connect(database_url).await?;
    sqlx::query(
        "INSERT INTO recommendations.co_purchases (product_id, other_product_id, times)
         VALUES ($1, $2, 3), ($2, $1, 3), ($1, $3, 1), ($3, $1, 1)",
    )
    .bind(viewed)
    .bind(often)
    .bind(once)
    .execute(&pool)
    .await
    .context("seeding recommendations.co_purchases")?;
    pool.close().await;
    Ok(products)
}

/// A child process killed (and reaped) when dropped, so that an error leaves none behind.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The `recommendations` binary as the container runs it, on a free port.
struct Container {
    addr: String,
    spawned: Instant,
    _process: Process,
}

impl Container {
    fn start(binary: &Path, setup: &Setup) -> anyhow::Result<Container> {
        let addr = format!("127.0.0.1:{}", free_port()?);
        let (stdout, stderr) = setup.logs.for_process("container")?;
        let spawned = Instant::now();
        let child = Command::new(binary)
            .env("LISTEN_ADDR", &addr)
            .env("DATABASE_URL", &setup.database_url)
            .env("KAFKA_BROKERS", &setup.brokers)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        Ok(Container {
            addr,
            spawned,
            _process: Process(child),
        })
    }

    /// From spawning the process to `/health/ready` answering 200, polled every 5 ms.
    async fn wait_until_ready(&self, http: &reqwest::Client) -> anyhow::Result<Duration> {
        let url = format!("http://{}/health/ready", self.addr);
        while self.spawned.elapsed() < START_TIMEOUT {
            let ready = http.get(&url).timeout(REQUEST_TIMEOUT).send().await;
            if ready.is_ok_and(|response| response.status().is_success()) {
                return Ok(self.spawned.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        bail!(
            "the container was not ready within {START_TIMEOUT:?}: see target/harbor/logs/lambda-container.log"
        )
    }
}

/// `cargo lambda watch --only-lambda-apis`: the Lambda runtime API and the Function URL
/// endpoint, without starting the function itself, so that the cold start is timed from
/// our own spawn of it. A new one for each start: a killed function may leave the old one
/// waiting on its half-open poll for the next event.
struct Emulator {
    addr: String,
    _process: Process,
}

impl Emulator {
    async fn start(cargo_lambda: &Path, logs: &Logs) -> anyhow::Result<Emulator> {
        let port = free_port()?;
        let (stdout, stderr) = logs.for_process("emulator")?;
        let child = Command::new(cargo_lambda)
            .args(["lambda", "watch", "--only-lambda-apis", "--ignore-changes"])
            .args(["--invoke-address", "127.0.0.1"])
            .args(["--invoke-port", &port.to_string()])
            .current_dir(workspace::root())
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("starting {}", cargo_lambda.display()))?;
        let emulator = Emulator {
            addr: format!("127.0.0.1:{port}"),
            _process: Process(child),
        };
        // Only a connect: any request here is a Function URL invocation.
        let deadline = Instant::now() + START_TIMEOUT;
        while tokio::net::TcpStream::connect(&emulator.addr)
            .await
            .is_err()
        {
            ensure!(
                Instant::now() < deadline,
                "cargo lambda watch did not listen: see target/harbor/logs/lambda-emulator.log"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(emulator)
    }

    /// The function process, with what Lambda gives every function's environment.
    fn start_function(&self, binary: &Path, setup: &Setup) -> anyhow::Result<Process> {
        let (stdout, stderr) = setup.logs.for_process("function")?;
        let child = Command::new(binary)
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("http://{}/.rt", self.addr),
            )
            // `_`: the emulator's name for the one function it serves.
            .env("AWS_LAMBDA_FUNCTION_NAME", "_")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("DATABASE_URL", &setup.database_url)
            // One invocation at a time per instance: one connection is all it can use.
            .env("DATABASE_MAX_CONNECTIONS", "1")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        Ok(Process(child))
    }
}

/// The cargo-lambda binary in `target/cargo-lambda-venv`, installed if it is not the pinned
/// version.
fn install_cargo_lambda() -> anyhow::Result<PathBuf> {
    let venv = workspace::root().join("target").join("cargo-lambda-venv");
    let binary = venv.join("bin").join("cargo-lambda");
    let version = CARGO_LAMBDA.rsplit('=').next().unwrap_or_default();
    let installed = |binary: &Path| {
        Command::new(binary)
            .args(["lambda", "--version"])
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let wanted = format!("cargo-lambda {version} ");
    if installed(&binary).is_some_and(|out| out.starts_with(&wanted)) {
        progress::done(&format!("reusing {}", binary.display()));
        return Ok(binary);
    }
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    workspace::run({
        let mut command = Command::new(&python);
        command.args(["-m", "venv", "--clear"]).arg(&venv);
        command
    })?;
    workspace::run({
        let mut command = Command::new(venv.join("bin").join("python"));
        command
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(["--no-deps", CARGO_LAMBDA]);
        command
    })?;
    let out = installed(&binary).context("cargo-lambda installed but does not run")?;
    ensure!(
        out.starts_with(&wanted),
        "installed {out}, wanted {CARGO_LAMBDA}"
    );
    progress::done(&format!("installed {}", out.trim()));
    Ok(binary)
}

fn free_port() -> anyhow::Result<u16> {
    // Bound and released: a small window in which another process could take it.
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// The value below which `share` of `times` fall (nearest rank).
fn percentile(times: &[Duration], share: f64) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    let rank = ((share * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len().max(1));
    sorted.get(rank - 1).copied().unwrap_or_default()
}

fn print_table(plan: Plan, function: &Measured, container: &Measured) {
    let profile = match plan.profile {
        services::Profile::Debug => "debug build",
        services::Profile::Release => "release build",
    };
    println!(
        "\nrecommendations as a Lambda function and as a container: {profile}, \
         {} start(s) each (median), {} warm requests each\n",
        plan.starts, plan.requests
    );
    println!("{:<38}{:>16}{:>16}", "", "function", "container");
    let row = |name: &str, function: Duration, container: Duration| {
        println!(
            "{name:<38}{:>13.1} ms{:>13.1} ms",
            millis(function),
            millis(container)
        );
    };
    row(
        "cold start (to first answer | ready)",
        percentile(&function.starts, 0.5),
        percentile(&container.starts, 0.5),
    );
    if plan.starts > 1 {
        row(
            "  slowest start",
            percentile(&function.starts, 1.0),
            percentile(&container.starts, 1.0),
        );
    }
    row(
        "warm latency, median",
        percentile(&function.warm, 0.5),
        percentile(&container.warm, 0.5),
    );
    row(
        "warm latency, p99",
        percentile(&function.warm, 0.99),
        percentile(&container.warm, 0.99),
    );
    println!(
        "\nfunction: process start, init, first event through cargo-lambda's runtime API \
         (a Function URL request, one hop more than the container's);\n\
         container: process start, migrations checked, topics ensured, listener bound, \
         until /health/ready answers. On AWS, a cold start adds the sandbox's own start.\n\
         Logs: target/harbor/logs/lambda-{{function,container,emulator}}.log"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let times: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&times, 0.5), Duration::from_millis(50));
        assert_eq!(percentile(&times, 0.99), Duration::from_millis(99));
        assert_eq!(percentile(&times, 1.0), Duration::from_millis(100));
        assert_eq!(percentile(&times[..1], 0.99), Duration::from_millis(1));
    }

    #[test]
    fn plans_stay_bounded() {
        let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let plan = Plan::from_args(&args(&["--starts", "3", "--requests", "50"])).unwrap();
        assert_eq!((plan.starts, plan.requests), (3, 50));
        assert!(Plan::from_args(&args(&["--starts", "0"])).is_err());
        assert!(Plan::from_args(&args(&["--requests", "100000"])).is_err());
        assert!(Plan::from_args(&args(&["--nope"])).is_err());
    }
}
