//! Paths in the workspace and running cargo.

use anyhow::{Context, bail};
use std::path::PathBuf;
use std::process::Command;

/// The workspace root (xtask lives one level below it).
pub fn root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(PathBuf::from)
        .unwrap_or(manifest_dir)
}

/// Cargo's target directory (honours `CARGO_TARGET_DIR`, which CI sets outside the clone).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|dir| {
            if dir.is_absolute() {
                dir
            } else {
                root().join(dir)
            }
        })
        .unwrap_or_else(|| root().join("target"))
}

/// Where xtask keeps logs, pid files and private data: `target/harbor/`.
pub fn state_dir() -> PathBuf {
    root().join("target").join("harbor")
}

pub fn cargo_command(args: &[&str]) -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.args(args).current_dir(root());
    command
}

/// The features every workspace-wide test build uses: recommendations' Lambda function and
/// its test exist only with `lambda`. One set everywhere (`test` and `ci` in main.rs spell
/// it out), so that no build redoes another's.
pub const TEST_FEATURES: [&str; 2] = ["--features", "recommendations/lambda"];

pub fn cargo(args: &[&str]) -> anyhow::Result<()> {
    run(cargo_command(args))
}

pub fn run(mut command: Command) -> anyhow::Result<()> {
    let status = command
        .status()
        .with_context(|| format!("cannot run {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed ({status})");
    }
    Ok(())
}
