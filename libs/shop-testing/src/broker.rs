//! Kafka for tests: the shared broker's address, and a private broker a test can cut off.

use crate::TcpProxy;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The shared broker (`KAFKA_BROKERS`, default `127.0.0.1:9092`) that `cargo xtask test`
/// starts. Tests share it and keep apart by topic prefix: see [`unique_topic_prefix`].
pub fn kafka_brokers() -> String {
    std::env::var("KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".to_owned())
}

/// A prefix such as `t3f2a….` that gives one test topics of its own on a shared broker.
pub fn unique_topic_prefix() -> String {
    format!("t{}.", uuid::Uuid::new_v4().simple())
}

/// Publishes `payload` with `key` on `topic` (the full name, prefix included) of the
/// broker at `brokers`, as another service's relay would; panics when the broker does not
/// take it within 10 s.
pub async fn publish(brokers: &str, topic: &str, key: &str, payload: &[u8]) {
    use rdkafka::producer::{FutureProducer, FutureRecord};
    let producer: FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .expect("a producer");
    let record = FutureRecord::to(topic).key(key).payload(payload);
    producer
        .send(record, std::time::Duration::from_secs(10))
        .await
        .map_err(|(error, _)| error)
        .expect("published");
}

/// A tansu broker of one test's own, reachable only through a [`TcpProxy`].
///
/// Kafka clients connect to the address a broker *advertises*, so a proxy in front of a
/// broker would carry only the first connection. This broker advertises the proxy's
/// address: every connection goes through it, and [`PrivateBroker::disconnect`] makes the
/// broker unreachable while it keeps its topics and messages.
#[derive(Debug)]
pub struct PrivateBroker {
    proxy: TcpProxy,
    /// tansu's `--storage-engine`: in memory, or a Postgres database that outlives it.
    storage: String,
    /// Where tansu itself listens (behind the proxy).
    listener: String,
    /// `None` between [`kill`](Self::kill) and [`restart`](Self::restart).
    tansu: Option<tokio::process::Child>,
    /// How many brokers were started, to name their logs.
    generation: u32,
    /// A durable broker's database; last, so that it is dropped after the broker is killed.
    store: Option<crate::TestDatabase>,
}

impl PrivateBroker {
    /// A broker that keeps its data in memory: [`kill`](Self::kill) loses everything.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_on("memory://tansu/".to_owned()).await
    }

    /// A broker that keeps its data in a database of its own (tansu's Postgres engine):
    /// [`kill`](Self::kill) and [`restart`](Self::restart) lose nothing, as with Kafka on a
    /// volume. The database is dropped with the broker.
    pub async fn start_durable() -> anyhow::Result<Self> {
        let store = crate::TestDatabase::create().await?;
        let url = tansu_durable_store(&crate::admin_url(), &store.name).await?;
        let mut broker = Self::start_on(url).await?;
        broker.store = Some(store);
        Ok(broker)
    }

    async fn start_on(storage: String) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let listener = format!("127.0.0.1:{port}");
        let proxy = TcpProxy::start(listener.clone()).await?;
        let mut broker = Self {
            proxy,
            storage,
            listener,
            tansu: None,
            generation: 0,
            store: None,
        };
        broker.spawn_tansu().await?;
        Ok(broker)
    }

    /// Starts a tansu on the broker's storage behind the proxy, and waits until it listens.
    async fn spawn_tansu(&mut self) -> anyhow::Result<()> {
        self.generation += 1;
        let listener = &self.listener;
        let port = listener.rsplit(':').next().unwrap_or("0");
        let log_path =
            std::env::temp_dir().join(format!("harbor-tansu-{port}-{}.log", self.generation));
        let log = std::fs::File::create(&log_path)?;
        let tansu = tokio::process::Command::new(tansu_binary()?)
            .args(["broker", "--listener-url", &format!("tcp://{listener}")])
            .args([
                "--advertised-listener-url",
                &format!("tcp://{}", self.proxy.addr()),
            ])
            .args(["--storage-engine", &self.storage])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()?;
        self.tansu = Some(tansu);
        let deadline = Instant::now() + Duration::from_secs(15);
        while tokio::net::TcpStream::connect(listener).await.is_err() {
            anyhow::ensure!(
                Instant::now() < deadline,
                "tansu did not listen at {listener}: see {}",
                log_path.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// Kills the broker process (`SIGKILL`). In memory, everything it held, topics, messages,
    /// groups and committed offsets, is gone, as with a lost volume; a durable broker keeps it.
    pub async fn kill(&mut self) -> anyhow::Result<()> {
        if let Some(mut tansu) = self.tansu.take() {
            tansu.kill().await?;
        }
        Ok(())
    }

    /// Starts the broker again at the same address (after [`kill`](Self::kill), or killing
    /// the running one first). In memory, it is a fresh, empty broker: the clients find a new
    /// cluster where the old one was. A durable one finds its data again.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.kill().await?;
        self.spawn_tansu().await
    }

    /// The bootstrap address to give clients (the proxy's).
    pub fn brokers(&self) -> String {
        self.proxy.addr().to_string()
    }

    /// Cuts every client off: the broker looks down.
    pub fn disconnect(&self) {
        self.proxy.disable();
    }

    pub fn reconnect(&self) {
        self.proxy.enable();
    }

    /// Suspends the broker process (`SIGSTOP`): connections stay open and nothing answers,
    /// as with a broker that hangs rather than one that is gone.
    pub fn freeze(&self) -> anyhow::Result<()> {
        self.signal("STOP")
    }

    /// Resumes a [`freeze`](Self::freeze)d broker (`SIGCONT`).
    pub fn thaw(&self) -> anyhow::Result<()> {
        self.signal("CONT")
    }

    fn signal(&self, name: &str) -> anyhow::Result<()> {
        let pid = self
            .tansu
            .as_ref()
            .and_then(tokio::process::Child::id)
            .ok_or_else(|| anyhow::anyhow!("the broker process has exited"))?;
        let status = std::process::Command::new("kill")
            .arg(format!("-{name}"))
            .arg(pid.to_string())
            .status()?;
        anyhow::ensure!(status.success(), "kill -{name} {pid}: {status}");
        Ok(())
    }
}

/// The tansu that `cargo xtask` installs and every test and demo runs.
pub const TANSU_VERSION: &str = "0.6.0";

/// The Cargo features of that build: `dynostore` has the in-memory storage engine the tests
/// use, `postgres` the durable one `cargo xtask up` uses.
pub const TANSU_FEATURES: &str = "dynostore,postgres";

/// Which of `cargo xtask`'s patches to tansu the build has (`xtask/src/tansu.rs`); a new
/// patch gets a new number, so every machine builds it again.
pub const TANSU_PATCH_LEVEL: u32 = 1;

/// `cargo xtask`'s fixes to tansu 0.6.0's `tansu-storage` (why: `xtask/src/tansu.rs`).
pub const TANSU_PATCH: &str = include_str!("../tansu/tansu-storage-0.6.0.patch");

/// tansu's Postgres schema: `etc/initdb.d/010-schema.sql` of tansu 0.6.0, which the crate
/// does not ship (Apache-2.0, like tansu). Idempotent: every table is `if not exists`.
pub const TANSU_POSTGRES_SCHEMA: &str = include_str!("../tansu/postgres-schema.sql");

/// Makes `database` on the server of `admin_url` a store for tansu's Postgres engine (creates
/// the database and tansu's tables, both idempotent), and returns the storage engine URL to
/// start tansu with: `admin_url`'s server and credentials, on that database.
pub async fn tansu_durable_store(admin_url: &str, database: &str) -> anyhow::Result<String> {
    use sqlx::ConnectOptions;
    use std::str::FromStr;
    shop_db::provision::create_database_if_missing(admin_url, database).await?;
    let mut conn = sqlx::postgres::PgConnectOptions::from_str(admin_url)?
        .database(database)
        .connect()
        .await?;
    sqlx::raw_sql(TANSU_POSTGRES_SCHEMA)
        .execute(&mut conn)
        .await?;
    let mut url = reqwest::Url::parse(admin_url)?;
    url.set_path(&format!("/{database}"));
    // tansu's client verifies a server's certificate when it may use TLS, and a local
    // server's (Debian's snakeoil one, for `localhost`) fails that for 127.0.0.1: without a
    // choice in `admin_url`, no TLS, as libpq's `prefer` would fall back to.
    if !url.query_pairs().any(|(key, _)| key == "sslmode") {
        url.query_pairs_mut().append_pair("sslmode", "disable");
    }
    Ok(url.to_string())
}

/// Where `cargo xtask` installs tansu:
/// `$XDG_CACHE_HOME/harbor-shop/tools/tansu-<version>-<features>-p<patch level>`
/// (default `~/.cache/…`), outside every checkout, so a fresh clone (CI's) reuses it. A tansu
/// on PATH is not used: the version and features are pinned here.
pub fn tansu_install_root() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    cache.join("harbor-shop").join("tools").join(format!(
        "tansu-{TANSU_VERSION}-{}-p{TANSU_PATCH_LEVEL}",
        TANSU_FEATURES.replace(',', "-")
    ))
}

/// `TANSU` if set, else the tansu `cargo xtask` installed ([`tansu_install_root`]).
pub fn tansu_binary() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("TANSU") {
        return Ok(PathBuf::from(path));
    }
    let installed = tansu_install_root().join("bin").join("tansu");
    anyhow::ensure!(
        installed.is_file(),
        "tansu is needed at {}: `cargo xtask infra` (or `test`) installs it",
        installed.display()
    );
    Ok(installed)
}
