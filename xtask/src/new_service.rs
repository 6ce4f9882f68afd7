//! `cargo xtask new-service <name>`: a new service, made from the skeleton every service
//! follows, wired into everything that runs, builds, deploys and checks the shop.
//!
//! Two parts. The service's own files are copied from `xtask/templates/service/`, with
//! its name and port filled in: a working service (each customer's list of products,
//! which forgets products catalog deletes) to change into the one the team wants. Then
//! [`WIRING`] adds the service's lines to the files that list every service, each at an
//! anchor that file already has; a file that lost its anchor stops the command with the
//! file's name. Last, the same commands a developer runs after changing queries or routes
//! make the compile-time query data (`.sqlx/`) and the committed `openapi.json`.
//!
//! `cargo xtask new-service --drill` proves it: in a copy of the workspace, with a target
//! directory of its own (the xtask binary knows its workspace) seeded with hard links to
//! this one's compiled dependencies, it makes `wishlist` and
//! checks that it passes clippy and its own tests, that catalog's tests accept its
//! contract, that `deploy/validate.sh` passes, and that `cargo xtask up --only wishlist`
//! serves it. `cargo xtask test` runs the drill last.
//!
//! Written by hand on purpose: the lesson is which files know about every service, and
//! [`WIRING`] is their list.

use crate::{postgres, progress, services, workspace};
use anyhow::{Context, bail};
use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where the service's own files come from, relative to the workspace root.
const TEMPLATE: &str = "xtask/templates/service";

/// Names a service may not take: they would clash with a crate, a schema or a role the
/// shop already has (crates of `Cargo.lock` are refused too).
const RESERVED: &[&str] = &[
    "shop", "public", "postgres", "kafka", "harbor", "xtask", "test", "tests", "self", "super",
    "crate", "mod", "type", "fn", "core", "std", "alloc", "main", "admin",
];

/// `cargo xtask new-service <name>` or `cargo xtask new-service --drill [name]`.
pub async fn run(args: &[String]) -> anyhow::Result<()> {
    match args {
        [flag] if flag == "--drill" => drill("wishlist").await,
        [flag, name] if flag == "--drill" => drill(name).await,
        [name] if !name.starts_with('-') => generate(name),
        _ => bail!("usage: cargo xtask new-service <name> | --drill [name]"),
    }
}

/// The service's name in each spelling the files use.
#[derive(Debug, Clone)]
struct Names {
    /// `wishlist`: crate, binary, schema, role suffix, Kubernetes and compose names.
    name: String,
    /// `Wishlist`: type names.
    camel: String,
    /// `WISHLIST`: environment variables.
    upper: String,
    port: u16,
    /// The first migration's version: now, as `YYYYMMDDhhmmss`.
    migration: String,
}

impl Names {
    fn new(name: &str) -> anyhow::Result<Self> {
        check_name(name)?;
        let mut camel = name.to_owned();
        camel[..1].make_ascii_uppercase();
        let now = time::OffsetDateTime::now_utc();
        let migration = format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}",
            now.year(),
            u8::from(now.month()),
            now.day(),
            now.hour(),
            now.minute(),
            now.second()
        );
        Ok(Self {
            name: name.to_owned(),
            camel,
            upper: name.to_ascii_uppercase(),
            port: next_port(),
            migration,
        })
    }

    /// `text` with every placeholder filled in.
    fn fill(&self, text: &str) -> String {
        text.replace("{{name}}", &self.name)
            .replace("{{Name}}", &self.camel)
            .replace("{{NAME}}", &self.upper)
            .replace("{{port}}", &self.port.to_string())
            .replace("{{migration}}", &self.migration)
    }
}

/// A name is one lowercase word (it becomes a crate, a schema, a role, a DNS label and an
/// environment variable prefix), new to the workspace.
fn check_name(name: &str) -> anyhow::Result<()> {
    let mut chars = name.chars();
    let well_formed = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && (3..=20).contains(&name.len());
    if !well_formed {
        bail!(
            "`{name}`: a service's name is 3 to 20 lowercase letters and digits, starting with a letter"
        );
    }
    if RESERVED.contains(&name) {
        bail!("`{name}` is reserved; choose another name");
    }
    if workspace::root().join("services").join(name).exists()
        || services::SERVICES.iter().any(|s| s.name == name)
    {
        bail!("there is a service `{name}` already");
    }
    let lock = std::fs::read_to_string(workspace::root().join("Cargo.lock"))
        .context("reading Cargo.lock")?;
    if lock
        .lines()
        .any(|line| line == format!("name = \"{name}\""))
    {
        bail!("`{name}` is the name of a crate the workspace uses; choose another name");
    }
    Ok(())
}

/// The port after the highest a service listens on (the storefront's admin port, 8090,
/// is above them all and is skipped).
fn next_port() -> u16 {
    let highest = services::SERVICES
        .iter()
        .map(|s| s.port)
        .max()
        .unwrap_or(8080);
    match highest + 1 {
        8090 => 8091,
        port => port,
    }
}

/// Makes the service `name` in this workspace.
fn generate(name: &str) -> anyhow::Result<()> {
    let names = Names::new(name)?;
    let root = workspace::root();
    // Every insertion is made in memory first: a file without its anchor stops the command
    // before anything is written.
    let wired = wired(&root, &names)?;
    progress::step(&format!(
        "the service's own files: services/{name}/ and its Kubernetes files"
    ));
    let made = copy_template(&root.join(TEMPLATE), &root, &names)?;
    progress::done(&format!("{} files", made.len()));

    progress::step("its lines in the files that list every service");
    for (path, content) in &wired {
        std::fs::write(path, content).with_context(|| format!("writing {}", path.display()))?;
    }
    progress::done(&format!("{} places in {} files", WIRING.len(), wired.len()));
    let sync = root.join("deploy/sync-k8s-files.sh");
    workspace::run({
        let mut command = Command::new("bash");
        command.arg(sync).current_dir(&root).stdout(Stdio::null());
        command
    })?;
    progress::done("the copies under k8s/ synced (deploy/sync-k8s-files.sh)");

    // Subprocesses, not calls: they must run the xtask and shop-db that know the new
    // schema, which cargo rebuilds from the files just changed.
    progress::step("its compile-time query data: cargo xtask sqlx-prepare");
    workspace::cargo(&["xtask", "sqlx-prepare", name])?;
    progress::step("its committed contract: openapi.json from the code");
    let mut contract = workspace::cargo_command(&[
        "test",
        "--package",
        name,
        "--test",
        "api",
        "the_committed_contract_matches_the_code",
    ]);
    contract.env("UPDATE_CONTRACTS", "1");
    workspace::run(contract)?;
    workspace::cargo(&["fmt", "--all"])?;

    println!(
        "\nservices/{name} is ready on port {port}. Next:\n\
         \n  cargo nextest run -p {name}      its tests\
         \n  cargo xtask up --only {name}     it and users, on http://localhost:{port}/docs\
         \n  git add -A                        the service and its wiring, together\
         \n\nIts README says where to add a feature.",
        port = names.port
    );
    Ok(())
}

/// Copies every file below `template` to the same place below `root`, with placeholders
/// filled in (in paths too). Refuses to overwrite anything.
fn copy_template(template: &Path, root: &Path, names: &Names) -> anyhow::Result<Vec<PathBuf>> {
    let mut made = Vec::new();
    let mut pending = vec![template.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries =
            std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))?;
        for entry in entries {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let relative = path.strip_prefix(template)?.to_string_lossy().into_owned();
            let target = root.join(names.fill(&relative));
            if target.exists() {
                bail!("{} exists already", target.display());
            }
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&target, names.fill(&text))?;
            made.push(target);
        }
    }
    Ok(made)
}

/// Where, in a file that lists every service, the new one's lines go.
#[derive(Debug)]
enum Anchor {
    /// After the one place where this text occurs.
    After(&'static str),
    /// After every place (one at least) where this text occurs.
    AfterEach(&'static str),
    /// Before the one place where this text occurs.
    Before(&'static str),
    /// On the one line containing this text, before the last occurrence of the second.
    OnLineBefore(&'static str, &'static str),
    /// At the end of the file.
    End,
}

/// One insertion: `text` (with placeholders) into `file` at `anchor`.
#[derive(Debug)]
struct Edit {
    file: &'static str,
    anchor: Anchor,
    text: &'static str,
}

impl Edit {
    /// `content` with the new service's text inserted at the anchor.
    fn edited(&self, mut content: String, names: &Names) -> anyhow::Result<String> {
        let text = names.fill(self.text);
        let unique = |needle: &str| -> anyhow::Result<usize> {
            let mut found = content.match_indices(needle);
            match (found.next(), found.next()) {
                (Some((at, _)), None) => Ok(at),
                (None, _) => bail!(
                    "{}: no `{}` to insert {} beside",
                    self.file,
                    needle.trim(),
                    names.name
                ),
                (Some(_), Some(_)) => {
                    bail!("{}: `{}` occurs more than once", self.file, needle.trim())
                }
            }
        };
        let at = match self.anchor {
            Anchor::AfterEach(needle) => {
                if !content.contains(needle) {
                    bail!(
                        "{}: no `{}` to insert {} beside",
                        self.file,
                        needle.trim(),
                        names.name
                    );
                }
                return Ok(content.replace(needle, &format!("{needle}{text}")));
            }
            Anchor::After(needle) => unique(needle)? + needle.len(),
            Anchor::Before(needle) => unique(needle)?,
            Anchor::OnLineBefore(line, before) => {
                let start = unique(line)?;
                let line_start = content[..start].rfind('\n').map_or(0, |i| i + 1);
                let line_end = content[start..]
                    .find('\n')
                    .map_or(content.len(), |i| start + i);
                let Some(offset) = content[line_start..line_end].rfind(before) else {
                    bail!("{}: the line with `{line}` has no `{before}`", self.file);
                };
                line_start + offset
            }
            Anchor::End => content.len(),
        };
        content.insert_str(at, &text);
        Ok(content)
    }
}

/// Every file [`WIRING`] changes, with all its insertions made, in memory.
fn wired(root: &Path, names: &Names) -> anyhow::Result<BTreeMap<PathBuf, String>> {
    let mut files = BTreeMap::new();
    for edit in WIRING {
        let path = root.join(edit.file);
        let content = match files.remove(&path) {
            Some(content) => content,
            None => {
                std::fs::read_to_string(&path).with_context(|| format!("reading {}", edit.file))?
            }
        };
        files.insert(path, edit.edited(content, names)?);
    }
    Ok(files)
}

/// Every place outside its own folder that names each service, and the new one's line
/// there. Kept in the order of the files' roles: build, run, provision, deploy, check.
const WIRING: &[Edit] = &[
    // The workspace and xtask (`up`, `test`, `image`, `bench`, `slo`, `chaos`).
    Edit {
        file: "Cargo.toml",
        anchor: Anchor::After("    \"services/storefront\",\n"),
        text: "    \"services/{{name}}\",\n",
    },
    Edit {
        file: "xtask/src/services.rs",
        anchor: Anchor::Before("    Service {\n        name: \"storefront\","),
        text: "    Service {\n        name: \"{{name}}\",\n        port: {{port}},\n        schema: Some(\"{{name}}\"),\n        needs: &[\"users\"],\n    },\n",
    },
    // Provisioning: its schema and role, wherever the database is made.
    Edit {
        file: "libs/shop-db/src/provision.rs",
        anchor: Anchor::OnLineBefore("pub const SERVICE_SCHEMAS", "]"),
        text: ", \"{{name}}\"",
    },
    Edit {
        file: "libs/shop-db/sql/provision.sql",
        anchor: Anchor::OnLineBefore("FOREACH service IN ARRAY ARRAY[", "]"),
        text: ", '{{name}}'",
    },
    Edit {
        file: "deploy/postgres/provision.sh",
        anchor: Anchor::OnLineBefore("schemas=(", ")"),
        text: " {{name}}",
    },
    // The image: one build for every service, and the SERVICE it may pick.
    Edit {
        file: "Dockerfile",
        anchor: Anchor::OnLineBefore("# SERVICE is one of:", " (binary"),
        text: ", {{name}}",
    },
    Edit {
        file: "Dockerfile",
        anchor: Anchor::OnLineBefore("--package recommendations", "--package storefront"),
        text: "--package {{name}} ",
    },
    Edit {
        file: "Dockerfile",
        anchor: Anchor::OnLineBefore("-p users -p catalog", "-p storefront"),
        text: "-p {{name}} ",
    },
    Edit {
        file: "Dockerfile",
        anchor: Anchor::OnLineBefore("--build-arg SERVICE=<", "> is required"),
        text: "|{{name}}",
    },
    Edit {
        file: ".github/workflows/images.yml",
        anchor: Anchor::OnLineBefore("service: [storefront, users", "]"),
        text: ", {{name}}",
    },
    Edit {
        file: ".github/workflows/images.yml",
        anchor: Anchor::OnLineBefore("for service in storefront users", "; do"),
        text: " {{name}}",
    },
    // docker compose: its role's password, the service, and Prometheus scraping it.
    Edit {
        file: "docker-compose.yml",
        anchor: Anchor::Before("      PROVISION_SQL: /provision/provision.sql\n"),
        text: "      SHOP_{{NAME}}_DB_PASSWORD: ${{{NAME}}_DB_PASSWORD:-{{name}}-dev-password}\n",
    },
    Edit {
        file: "docker-compose.yml",
        anchor: Anchor::Before("  storefront:\n    <<: *service\n"),
        text: COMPOSE_SERVICE,
    },
    Edit {
        file: "deploy/prometheus/prometheus.yml",
        anchor: Anchor::After("      - targets: [\"recommendations:8084\"]\n"),
        text: "  - job_name: {{name}}\n    metrics_path: /metrics\n    static_configs:\n      - targets: [\"{{name}}:{{port}}\"]\n",
    },
    // Kubernetes, base: its manifests (copied above), config, secret, image, the role's
    // password for the provisioning Job, and users letting it fetch the JWKS.
    Edit {
        file: "k8s/base/kustomization.yaml",
        anchor: Anchor::After("  - services/recommendations.yaml\n"),
        text: "  - services/{{name}}.yaml\n",
    },
    Edit {
        file: "k8s/base/kustomization.yaml",
        anchor: Anchor::After("    envs: [config/recommendations.env]\n"),
        text: "  - name: {{name}}-config\n    envs: [config/{{name}}.env]\n",
    },
    Edit {
        file: "k8s/base/kustomization.yaml",
        anchor: Anchor::After("  - name: ghcr.io/harbor-shop/recommendations\n    newTag: 0.1.0\n"),
        text: "  - name: ghcr.io/harbor-shop/{{name}}\n    newTag: 0.1.0\n",
    },
    Edit {
        file: "k8s/base/secrets.yaml",
        anchor: Anchor::After(
            "  DATABASE_URL: postgres://shop_recommendations:REPLACE_ME@postgres:5432/shop\n",
        ),
        text: "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: {{name}}-secrets\n  labels:\n    app.kubernetes.io/name: {{name}}\ntype: Opaque\nstringData:\n  DATABASE_URL: postgres://shop_{{name}}:REPLACE_ME@postgres:5432/shop\n",
    },
    Edit {
        file: "k8s/base/db-provision/job.yaml",
        anchor: Anchor::After(
            "                  name: recommendations-secrets\n                  key: DATABASE_URL\n",
        ),
        text: "            - name: SHOP_{{NAME}}_DATABASE_URL\n              valueFrom:\n                secretKeyRef:\n                  name: {{name}}-secrets\n                  key: DATABASE_URL\n",
    },
    Edit {
        file: "k8s/base/services/users.yaml",
        anchor: Anchor::After(
            "            matchLabels:\n              app.kubernetes.io/name: recommendations\n",
        ),
        text: "        - podSelector:\n            matchLabels:\n              app.kubernetes.io/name: {{name}}\n",
    },
    // Kubernetes, observability: a headless Service and a Prometheus job per service.
    Edit {
        file: "k8s/components/observability/metrics-services.yaml",
        anchor: Anchor::End,
        text: "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: {{name}}-metrics\n  labels:\n    app.kubernetes.io/name: {{name}}\n    app.kubernetes.io/component: metrics\nspec:\n  clusterIP: None\n  publishNotReadyAddresses: true\n  selector:\n    app.kubernetes.io/name: {{name}}\n  ports:\n    - name: http\n      port: {{port}}\n      targetPort: http\n      protocol: TCP\n",
    },
    Edit {
        file: "k8s/components/observability/prometheus.yml",
        anchor: Anchor::After(
            "      - names: [recommendations-metrics]\n        type: A\n        port: 8084\n        refresh_interval: 30s\n",
        ),
        text: "  - job_name: {{name}}\n    metrics_path: /metrics\n    dns_sd_configs:\n      - names: [{{name}}-metrics]\n        type: A\n        port: {{port}}\n        refresh_interval: 30s\n",
    },
    Edit {
        file: "k8s/components/observability/network-policies.yaml",
        // Prometheus's egress to the services' ports, and their ingress from it.
        anchor: Anchor::AfterEach("        - port: 8084\n          protocol: TCP\n"),
        text: "        - port: {{port}}\n          protocol: TCP\n",
    },
    // Kubernetes, minikube: the development secret, traces to Jaeger, the dev image.
    Edit {
        file: "k8s/overlays/minikube/secrets-dev.yaml",
        anchor: Anchor::After(
            "  DATABASE_URL: postgres://shop_recommendations:recommendations-dev-password@postgres:5432/shop\n",
        ),
        text: "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: {{name}}-secrets\nstringData:\n  DATABASE_URL: postgres://shop_{{name}}:{{name}}-dev-password@postgres:5432/shop\n",
    },
    Edit {
        file: "k8s/overlays/minikube/kustomization.yaml",
        anchor: Anchor::After(
            "  - name: recommendations-config\n    behavior: merge\n    literals:\n      - OTEL_EXPORTER_OTLP_ENDPOINT=http://jaeger:4318\n",
        ),
        text: "  - name: {{name}}-config\n    behavior: merge\n    literals:\n      - OTEL_EXPORTER_OTLP_ENDPOINT=http://jaeger:4318\n",
    },
    Edit {
        file: "k8s/overlays/minikube/kustomization.yaml",
        anchor: Anchor::After("  - name: ghcr.io/harbor-shop/recommendations\n    newTag: dev\n"),
        text: "  - name: ghcr.io/harbor-shop/{{name}}\n    newTag: dev\n",
    },
    // Kubernetes, EKS: the shared settings, no rendered secret, an IAM role per service.
    Edit {
        file: "k8s/overlays/eks/kustomization.yaml",
        anchor: Anchor::After(
            "  - name: recommendations-config\n    behavior: merge\n    literals: *domain\n",
        ),
        text: "  - name: {{name}}-config\n    behavior: merge\n    literals: *domain\n",
    },
    Edit {
        file: "k8s/overlays/eks/kustomization.yaml",
        anchor: Anchor::After("        name: recommendations-secrets\n"),
        text: "  - patch: |-\n      $patch: delete\n      apiVersion: v1\n      kind: Secret\n      metadata:\n        name: {{name}}-secrets\n",
    },
    Edit {
        file: "k8s/overlays/eks/serviceaccounts-irsa.yaml",
        anchor: Anchor::After(
            "    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/harbor-shop-recommendations\n",
        ),
        text: "---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {{name}}\n  annotations:\n    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/harbor-shop-{{name}}\n",
    },
    Edit {
        file: "k8s/overlays/eks/eksctl-cluster.yaml",
        anchor: Anchor::After(
            "      roleName: harbor-shop-recommendations\n      roleOnly: true\n",
        ),
        text: "    - metadata:\n        name: {{name}}\n        namespace: harbor-shop\n      roleName: harbor-shop-{{name}}\n      roleOnly: true\n",
    },
    // The checks of deploy/validate.sh: which services exist, and a justified skip.
    Edit {
        file: "deploy/lib/common.py",
        anchor: Anchor::After("    \"recommendations\": 8084,\n"),
        text: "    \"{{name}}\": {{port}},\n",
    },
    Edit {
        file: "deploy/lib/common.py",
        anchor: Anchor::OnLineBefore("DOMAIN_SERVICES = [", "]"),
        text: ", \"{{name}}\"",
    },
    Edit {
        file: "deploy/checkov-skips.yaml",
        anchor: Anchor::After("      - Deployment.harbor-shop.recommendations-*\n"),
        text: "      - Deployment.harbor-shop.{{name}}\n",
    },
];

/// The service in `docker-compose.yml`, beside the others.
const COMPOSE_SERVICE: &str = "  {{name}}:
    <<: *service
    image: ghcr.io/harbor-shop/{{name}}:${HARBOR_SHOP_TAG:-latest}
    build:
      <<: *build
      args:
        SERVICE: {{name}}
    environment:
      <<: *common-env
      LISTEN_ADDR: 0.0.0.0:{{port}}
      OTEL_SERVICE_NAME: {{name}}
      DATABASE_URL: postgres://shop_{{name}}:${{{NAME}}_DB_PASSWORD:-{{name}}-dev-password}@postgres:5432/shop
      DATABASE_MAX_CONNECTIONS: \"5\"
      KAFKA_BROKERS: kafka:9092
      KAFKA_TOPIC_PARTITIONS: \"3\"
      FAULTS_ENABLED: \"true\"
      JWKS_URL: http://users:8081/.well-known/jwks.json
    depends_on: *domain-depends

";

/// The drill: `name` made in a copy of this workspace, then built, linted, tested,
/// validated and started there.
async fn drill(name: &str) -> anyhow::Result<()> {
    // The port the copy's new service gets: the one this workspace would give it.
    let port = next_port();
    let base = workspace::target_dir().join("new-service");
    let scratch = base.join("workspace");
    let target = base.join("target");
    progress::step(&format!("a copy of the workspace in {}", scratch.display()));
    if scratch.exists() {
        std::fs::remove_dir_all(&scratch)?;
    }
    let copied = copy_workspace(&workspace::root(), &scratch)?;
    progress::done(&format!("{copied} files"));
    // The copy's own target directory starts as hard links to this one's dependencies:
    // their fingerprints do not depend on the workspace's path, so cargo compiles only
    // the workspace's crates (about a minute, not the quarter of an hour of a cold build).
    // Cargo and rustc replace files rather than write into them, so a link is never
    // changed under this workspace's build.
    if target.exists() {
        std::fs::remove_dir_all(&target)?;
    }
    let mut linked = 0;
    for dir in ["deps", "build", ".fingerprint"] {
        let from = workspace::target_dir().join("debug").join(dir);
        if from.exists() {
            linked += hard_link_tree(&from, &target.join("debug").join(dir))?;
        }
    }
    progress::done(&format!(
        "its target directory seeded with {linked} files of this one's"
    ));
    // The deploy checks' tools, installed once for this workspace, serve the copy too.
    let tools = workspace::root().join("target");
    std::fs::create_dir_all(scratch.join("target"))?;
    for shared in ["deploy-venv", "promtool"] {
        if tools.join(shared).exists() {
            std::os::unix::fs::symlink(tools.join(shared), scratch.join("target").join(shared))?;
        }
    }

    let cargo = |args: &[&str]| -> Command {
        let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        command
            .args(args)
            .current_dir(&scratch)
            .env("CARGO_TARGET_DIR", &target);
        command
    };
    progress::step(&format!("cargo xtask new-service {name}, in the copy"));
    workspace::run(cargo(&["xtask", "new-service", name]))?;
    progress::step("its lints: cargo fmt --check, clippy -D warnings");
    workspace::run(cargo(&["fmt", "--all", "--", "--check"]))?;
    workspace::run(cargo(&[
        "clippy",
        "--package",
        name,
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    progress::step("its tests, and catalog's check of what it relies on");
    workspace::run(cargo(&["test", "--package", name]))?;
    workspace::run(cargo(&[
        "test",
        "--package",
        "catalog",
        "--test",
        "api",
        "consumers",
    ]))?;
    progress::step("the deploy files with it: deploy/validate.sh, in the copy");
    workspace::run({
        let mut validate = Command::new("bash");
        validate.arg("deploy/validate.sh").current_dir(&scratch);
        validate
    })?;
    progress::step(&format!("cargo xtask up --only {name}, in the copy"));
    // On a database of its own: the demo's `shop` never holds the drill's schema.
    let database = format!("harbor_test_new_service_{}", std::process::id());
    let mut up = cargo(&["xtask", "up", "--only", name]);
    up.env("SHOP_DATABASE", &database);
    let served = up_serves(up, name, port).await;
    let admin = postgres::admin_url();
    shop_db::provision::drop_database(&admin, &database).await?;
    served?;
    forget_role(&admin, &shop_db::provision::role_for(name)).await;
    std::fs::remove_dir_all(&scratch)?;
    progress::done(&format!(
        "a new service `{name}` builds, passes its tests and deploy checks, and runs"
    ));
    Ok(())
}

/// Drops the role the copy's provisioning made (roles belong to the whole server). The
/// databases it had rights in are gone by now; if one is left (an interrupted test's), the
/// role stays and says so, harmless.
async fn forget_role(admin_url: &str, role: &str) {
    use sqlx::{ConnectOptions, Connection};
    let dropped = async {
        let mut admin = admin_url
            .parse::<sqlx::postgres::PgConnectOptions>()?
            .connect()
            .await?;
        let statement = format!(
            "DROP ROLE IF EXISTS {}",
            shop_db::provision::quote_ident(role)
        );
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
            .execute(&mut admin)
            .await?;
        admin.close().await
    }
    .await;
    if let Err(error) = dropped {
        progress::note(&format!("role {role} kept: {error}"));
    }
}

/// Copies the files git knows of (committed or not, ignored ones left out) from `root`.
fn copy_workspace(root: &Path, to: &Path) -> anyhow::Result<usize> {
    let listed = Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .current_dir(root)
        .output()
        .context("git ls-files")?;
    if !listed.status.success() {
        bail!(
            "git ls-files failed: {}",
            String::from_utf8_lossy(&listed.stderr)
        );
    }
    let mut copied = 0;
    for file in listed.stdout.split(|&b| b == 0).filter(|f| !f.is_empty()) {
        let relative = Path::new(std::str::from_utf8(file)?);
        let source = root.join(relative);
        // Listed but deleted in the working tree: not part of it.
        if !source.exists() {
            continue;
        }
        let destination = to.join(relative);
        if let Some(parent) = destination.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(&source, &destination)
            .with_context(|| format!("copying {}", relative.display()))?;
        copied += 1;
    }
    Ok(copied)
}

/// Hard-links every file below `from` to the same place below `to`; returns how many.
fn hard_link_tree(from: &Path, to: &Path) -> anyhow::Result<usize> {
    let mut linked = 0;
    let mut pending = vec![(from.to_path_buf(), to.to_path_buf())];
    while let Some((source, destination)) = pending.pop() {
        std::fs::create_dir_all(&destination)?;
        for entry in std::fs::read_dir(&source)? {
            let entry = entry?;
            let target = destination.join(entry.file_name());
            if entry.file_type()?.is_dir() {
                pending.push((entry.path(), target));
            } else {
                std::fs::hard_link(entry.path(), &target)
                    .with_context(|| format!("linking {}", entry.path().display()))?;
                linked += 1;
            }
        }
    }
    Ok(linked)
}

/// Starts `up`, waits until the new service answers ready on its port, then stops `up`
/// as Ctrl-C would.
async fn up_serves(mut up: Command, name: &str, port: u16) -> anyhow::Result<()> {
    let logs = workspace::state_dir().join("logs");
    std::fs::create_dir_all(&logs)?;
    let log = std::fs::File::create(logs.join("new-service-up.log"))?;
    let mut child = up
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0)
        .spawn()
        .context("starting cargo xtask up")?;
    let url = format!("http://127.0.0.1:{port}/health/ready");
    let client = reqwest::Client::new();
    // `up` compiles its xtask and two services first.
    let deadline = Instant::now() + Duration::from_secs(900);
    let outcome = loop {
        if let Some(status) = child.try_wait()? {
            break Err(anyhow::anyhow!(
                "`cargo xtask up` ended ({status}); see target/harbor/logs/new-service-up.log"
            ));
        }
        let ready = client
            .get(&url)
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .is_ok_and(|response| response.status().is_success());
        if ready {
            break Ok(());
        }
        if Instant::now() > deadline {
            break Err(anyhow::anyhow!(
                "{name} not ready at {url} within 15 minutes"
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    // Ctrl-C to the whole group: cargo and the xtask it runs, as a terminal would.
    let pid = child.id().to_string();
    let _ = Command::new("kill")
        .args(["-INT", "--", &format!("-{pid}")])
        .status();
    let stopped = tokio::task::spawn_blocking(move || child.wait()).await??;
    outcome?;
    progress::done(&format!("{name} ready at {url}; `up` stopped ({stopped})"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(name: &str, port: u16) -> Names {
        Names {
            name: name.to_owned(),
            camel: name[..1].to_ascii_uppercase() + &name[1..],
            upper: name.to_ascii_uppercase(),
            port,
            migration: "20270101000000".to_owned(),
        }
    }

    /// Every anchor of [`WIRING`] is where the edit expects it in this workspace: a file
    /// that changed shape fails here, long before the drill.
    #[test]
    fn every_anchor_is_in_place_and_two_services_can_be_added() {
        let root = workspace::root();
        for edit in WIRING {
            let content = std::fs::read_to_string(root.join(edit.file)).unwrap();
            let once = edit
                .edited(content.clone(), &names("wishlist", 8085))
                .unwrap();
            assert!(
                once.len() > content.len(),
                "{}: nothing inserted",
                edit.file
            );
            // The anchors stay: a second new service goes in beside the first.
            let twice = edit.edited(once.clone(), &names("shipping", 8086)).unwrap();
            assert!(
                twice.len() > once.len(),
                "{}: no room for a second",
                edit.file
            );
        }
    }

    #[test]
    fn the_wiring_is_planned_whole_before_anything_is_written() {
        let root = workspace::root();
        let before = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
        let planned = wired(&root, &names("wishlist", 8085)).unwrap();
        let files: std::collections::BTreeSet<&str> = WIRING.iter().map(|e| e.file).collect();
        assert_eq!(planned.len(), files.len(), "one new content per file");
        let dockerfile = &planned[&root.join("Dockerfile")];
        assert_eq!(
            dockerfile.matches("wishlist").count(),
            4,
            "all four Dockerfile edits"
        );
        assert_eq!(
            std::fs::read_to_string(root.join("Cargo.toml")).unwrap(),
            before
        );
    }

    #[test]
    fn an_anchor_that_is_missing_or_ambiguous_names_the_file() {
        let edit = Edit {
            file: "some/file.yaml",
            anchor: Anchor::After("anchor\n"),
            text: "{{name}}\n",
        };
        let missing = edit.edited("nothing here\n".to_owned(), &names("wishlist", 8085));
        assert!(
            missing
                .unwrap_err()
                .to_string()
                .starts_with("some/file.yaml: no `anchor`")
        );
        let twice = edit.edited("anchor\nanchor\n".to_owned(), &names("wishlist", 8085));
        assert!(twice.unwrap_err().to_string().contains("more than once"));
        let once = edit.edited("a\nanchor\nb\n".to_owned(), &names("wishlist", 8085));
        assert_eq!(once.unwrap(), "a\nanchor\nwishlist\nb\n");
    }

    #[test]
    fn placeholders_are_filled_in_every_spelling() {
        let filled = names("wishlist", 8085)
            .fill("{{name}} {{Name}}Error {{NAME}}_DB {{port}} {{migration}}_x.sql");
        assert_eq!(
            filled,
            "wishlist WishlistError WISHLIST_DB 8085 20270101000000_x.sql"
        );
    }

    #[test]
    fn a_name_must_be_a_new_lowercase_word() {
        for refused in [
            "Wishlist",
            "wish-list",
            "9lives",
            "ab",
            "shop",
            "catalog",
            "tokio",
            "serde",
        ] {
            assert!(check_name(refused).is_err(), "{refused} was accepted");
        }
        assert!(check_name("wishlist").is_ok());
        assert_eq!(next_port(), 8085, "after recommendations' 8084");
    }
}
