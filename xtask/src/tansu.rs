//! Building the broker every test and demo runs: tansu 0.6.0 from crates.io, with two fixes
//! (`libs/shop-testing/tansu/tansu-storage-0.6.0.patch`).
//!
//! 1. **A fetch of a lost topic.** When a consumer fetches a topic tansu does not know (the
//!    broker lost its topics: an in-memory broker restarted, a wiped volume, a new
//!    cluster), tansu 0.6 answers with an all-zero topic id and a KIP-951 "current leader"
//!    hint. librdkafka 2.12 turns the hint into a metadata update, looks the topic up by a
//!    NULL name, and the client's process dies of SIGSEGV (`rd_kafka_metadata_update_op`).
//!    Kafka answers the same fetch with the topic id that was asked for and no hint; so
//!    does the patched tansu, and the client then looks the topic up again.
//! 2. **PostgreSQL 15.** One query of the Postgres engine (the latest stable offset, which
//!    every read-committed consumer asks for) has a subquery in FROM without an alias:
//!    valid from PostgreSQL 16 on, an error before. Debian 12 has 15.
//!
//! So the build is not `cargo install tansu`: the two crates are downloaded from crates.io
//! (checked against pinned SHA-256 sums), the patch is applied to `tansu-storage`, and
//! `tansu` is built with `[patch.crates-io]` pointing at the patched copy, on tansu's own
//! `Cargo.lock`. Features: `dynostore` (the in-memory engine the tests use) and `postgres`
//! (the durable engine `cargo xtask up` uses, see [`crate::broker`]).

use crate::{progress, workspace};
use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The crates built, with the SHA-256 of their `.crate` files on crates.io.
const CRATES: [(&str, &str); 2] = [
    (
        "tansu",
        "4fdd85473ec265140488cf8d55e82b844f5c051c8916fabdd4a71156ac053f6d",
    ),
    (
        "tansu-storage",
        "720d2ed8e6010c70f7f06e5af5a7274ebbf6e42fdcd9e46de542b10dc4d2f35d",
    ),
];

/// The tansu every test and demo runs (`shop_testing::tansu_binary`), building it once if
/// missing.
pub fn binary() -> anyhow::Result<PathBuf> {
    if let Ok(found) = shop_testing::tansu_binary() {
        return Ok(found);
    }
    progress::note(&note());
    start()?.finish()?;
    shop_testing::tansu_binary()
}

/// A tansu build running beside other work (see [`start_if_missing`]).
pub struct Build {
    child: Child,
    log: PathBuf,
    dir: PathBuf,
}

/// On a machine without tansu, starts building it in the background and returns the build,
/// so that its minutes of compiling overlap with the workspace's own build (`cargo xtask ci`
/// and `test` do this). `None` when it is already there.
pub fn start_if_missing() -> anyhow::Result<Option<Build>> {
    if shop_testing::tansu_binary().is_ok() {
        return Ok(None);
    }
    progress::note(&format!(
        "{}; meanwhile the workspace builds (log: {})",
        note(),
        log_path().display()
    ));
    start().map(Some)
}

fn note() -> String {
    format!(
        "building tansu {} (a Kafka-compatible broker, patched: see xtask/src/tansu.rs) into {}: \
         about 20 minutes on 2 cores, once",
        shop_testing::TANSU_VERSION,
        shop_testing::tansu_install_root().display()
    )
}

fn log_path() -> PathBuf {
    workspace::state_dir().join("logs").join("tansu-build.log")
}

/// Downloads, checks and patches the sources (seconds), then starts the build.
fn start() -> anyhow::Result<Build> {
    let dir = shop_testing::tansu_install_root().join("build");
    // A half-finished earlier attempt is started over: sources are cheap, and the build's
    // own target directory below survives, so its compiled crates are reused.
    let sources = dir.join("src");
    if sources.exists() {
        std::fs::remove_dir_all(&sources)?;
    }
    std::fs::create_dir_all(&sources)?;
    let version = shop_testing::TANSU_VERSION;
    for (name, sha256) in CRATES {
        let file = sources.join(format!("{name}-{version}.crate"));
        download(
            &format!("https://static.crates.io/crates/{name}/{name}-{version}.crate"),
            &file,
        )?;
        verify(&file, sha256)?;
        let mut untar = Command::new("tar");
        untar.arg("-xzf").arg(&file).arg("-C").arg(&sources);
        workspace::run(untar)?;
    }
    let storage = sources.join(format!("tansu-storage-{version}"));
    apply_patch(&storage)?;
    let tansu = sources.join(format!("tansu-{version}"));
    let manifest = tansu.join("Cargo.toml");
    let mut toml = std::fs::read_to_string(&manifest)?;
    toml.push_str(&format!(
        "\n[patch.crates-io]\ntansu-storage = {{ path = \"{}\" }}\n",
        storage.display()
    ));
    std::fs::write(&manifest, toml)?;

    let log = log_path();
    std::fs::create_dir_all(log.parent().context("log dir")?)?;
    let output = std::fs::File::create(&log)?;
    // Not `--locked`: the patch changes tansu-storage's entry in tansu's lock file; every
    // other crate keeps the version tansu was published with.
    let mut build = Command::new("cargo");
    build
        .args(["build", "--release", "--features"])
        .arg(shop_testing::TANSU_FEATURES)
        .arg("--manifest-path")
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .stdin(Stdio::null())
        .stdout(output.try_clone()?)
        .stderr(output);
    let child = build.spawn().context("starting cargo build of tansu")?;
    Ok(Build { child, log, dir })
}

impl Build {
    /// Waits for the build, installs the binary, and removes the build's files; a failure
    /// quotes the end of its log.
    pub fn finish(mut self) -> anyhow::Result<()> {
        let status = self.child.wait().context("waiting for the tansu build")?;
        if !status.success() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(30).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            bail!(
                "building tansu failed ({status}); the end of {}:\n{}",
                self.log.display(),
                tail.join("\n")
            );
        }
        let built = self.dir.join("target").join("release").join("tansu");
        let installed = shop_testing::tansu_install_root().join("bin").join("tansu");
        std::fs::create_dir_all(installed.parent().context("bin dir")?)?;
        // Copied under a temporary name, then renamed: a reader never sees half a binary.
        let partial = installed.with_extension("partial");
        std::fs::copy(&built, &partial).with_context(|| format!("copying {}", built.display()))?;
        std::fs::rename(&partial, &installed)?;
        std::fs::remove_dir_all(&self.dir)?;
        progress::done("tansu built");
        Ok(())
    }
}

fn download(url: &str, to: &Path) -> anyhow::Result<()> {
    let mut curl = Command::new("curl");
    curl.args([
        "--silent",
        "--show-error",
        "--fail",
        "--location",
        "--retry",
        "3",
    ])
    .arg("--output")
    .arg(to)
    .arg(url);
    workspace::run(curl).with_context(|| format!("downloading {url}"))
}

fn verify(file: &Path, sha256: &str) -> anyhow::Result<()> {
    let output = Command::new("sha256sum").arg(file).output()?;
    let sum = String::from_utf8_lossy(&output.stdout);
    let sum = sum.split_whitespace().next().unwrap_or_default();
    if sum != sha256 {
        bail!(
            "{} has SHA-256 {sum}, not the pinned {sha256}",
            file.display()
        );
    }
    Ok(())
}

fn apply_patch(crate_dir: &Path) -> anyhow::Result<()> {
    let mut patch = Command::new("patch")
        .args(["--strip=1", "--forward", "--batch", "--directory"])
        .arg(crate_dir)
        .stdin(Stdio::piped())
        .spawn()
        .context("running patch")?;
    std::io::Write::write_all(
        patch.stdin.as_mut().context("patch's stdin")?,
        shop_testing::TANSU_PATCH.as_bytes(),
    )?;
    let status = patch.wait()?;
    if !status.success() {
        bail!(
            "libs/shop-testing/tansu/tansu-storage-0.6.0.patch does not apply to {}",
            crate_dir.display()
        );
    }
    Ok(())
}
