//! `cargo deny check bans licenses sources` (`deny.toml`): what `cargo xtask ci` allows in
//! the dependency graph. cargo-deny is installed once, pinned, outside every checkout (as
//! tansu is), so a fresh clone (CI's) reuses it.
//!
//! Not `advisories`: the RustSec database is fetched from GitHub, which this project's
//! machines cannot reach; see `deny.toml`.

use crate::{progress, workspace};
use anyhow::Context;
use std::path::PathBuf;
use std::process::Command;

const VERSION: &str = "0.20.2";

fn install_root() -> PathBuf {
    shop_testing::tansu_install_root()
        .parent()
        .map(|tools| tools.join(format!("cargo-deny-{VERSION}")))
        .unwrap_or_else(|| PathBuf::from(format!("target/cargo-deny-{VERSION}")))
}

/// Installs cargo-deny if this machine has not yet, then checks the graph.
pub fn check() -> anyhow::Result<()> {
    let root = install_root();
    let bin = root.join("bin");
    if !bin.join("cargo-deny").is_file() {
        progress::note(&format!(
            "installing cargo-deny {VERSION} from crates.io into {} (about 5 minutes on 2 cores, once)",
            root.display()
        ));
        let mut install = Command::new("cargo");
        install
            .args(["install", "cargo-deny", "--locked", "--version", VERSION])
            .arg("--root")
            .arg(&root);
        workspace::run(install)?;
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![bin];
    paths.extend(std::env::split_paths(&path));
    let mut deny = workspace::cargo_command(&["deny", "check", "bans", "licenses", "sources"]);
    deny.env(
        "PATH",
        std::env::join_paths(paths).context("PATH with cargo-deny")?,
    );
    workspace::run(deny)
}
