"""Checks docker-compose.yml and the files it mounts.

1. The file, interpolated with its defaults (as `docker compose config` would with an
   empty environment), validates against the Compose Specification JSON schema vendored
   in deploy/schemas/compose-spec.json (checksum verified).
2. What the schema cannot say: every container has a memory limit and together they stay
   under 1.5 GB; restart policies; dependencies exist and wait only on containers that
   have a healthcheck; the published ports; the provisioning SQL is the mounted original;
   image names and build arguments match the services.
3. The mounted configuration agrees with it: Prometheus scrapes every service on its
   port, Grafana's data sources and the overview dashboard are consistent, Jaeger
   receives OTLP/HTTP where the services send it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import jsonschema
import yaml

from common import DOMAIN_SERVICES, ROOT, SERVICES, Report, main_guard, parse_bytes, rel

COMPOSE = ROOT / "docker-compose.yml"
SCHEMA = ROOT / "deploy/schemas/compose-spec.json"
SCHEMA_SUM = ROOT / "deploy/schemas/compose-spec.json.sha256"
PROMETHEUS = ROOT / "deploy/prometheus/prometheus.yml"
DATASOURCES = ROOT / "deploy/grafana/provisioning/datasources/datasources.yaml"
DASHBOARD_PROVIDERS = ROOT / "deploy/grafana/provisioning/dashboards/dashboards.yaml"
DASHBOARDS = ROOT / "deploy/grafana/dashboards"
JAEGER = ROOT / "deploy/jaeger/config.yaml"
PROVISION_SQL = "libs/shop-db/sql/provision.sql"

MEMORY_BUDGET = 1_500_000_000  # 1.5 GB, decimal: the stricter reading of "1.5 GB"
PUBLISHED = {"storefront": 8080, "jaeger": 16686, "grafana": 3000}
REQUIRED_QUERIES = [
    "sum by (job)(rate(http_server_requests_total[1m]))",
    'sum by (job)(rate(http_server_requests_total{status=~"5.."}[1m]))',
    "histogram_quantile(0.5, sum by (job, le)(rate(http_server_request_duration_seconds_bucket[1m])))",
    "histogram_quantile(0.95, sum by (job, le)(rate(http_server_request_duration_seconds_bucket[1m])))",
    "histogram_quantile(0.99, sum by (job, le)(rate(http_server_request_duration_seconds_bucket[1m])))",
]

_VAR = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)"
    r"(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}|(?P<named>[A-Za-z_][A-Za-z0-9_]*))"
)


def interpolate(value, env: dict[str, str]):
    """Compose variable interpolation (${VAR}, ${VAR:-default}, ${VAR-default},
    ${VAR:?error}, ${VAR:+alt}, $VAR, $$) over every string in the document."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match) -> str:
        if match.group("escaped"):
            return "$"
        name = match.group("braced") or match.group("named")
        op, arg = match.group("op"), match.group("arg") or ""
        current = env.get(name)
        unset_or_empty = not current
        if op in (":-", "-"):
            missing = unset_or_empty if op == ":-" else current is None
            return arg if missing else current
        if op in (":?", "?"):
            missing = unset_or_empty if op == ":?" else current is None
            if missing:
                raise ValueError(f"required variable {name} is not set: {arg}")
            return current
        if op in (":+", "+"):
            present = not unset_or_empty if op == ":+" else current is not None
            return arg if present else ""
        return current or ""

    return _VAR.sub(substitute, value)


def environment_of(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.split("=", 1) for item in env)
        return {pair[0]: (pair[1] if len(pair) > 1 else "") for pair in pairs}
    return {key: "" if value is None else str(value) for key, value in env.items()}


def memory_limit(service: dict) -> int | None:
    limits = ((service.get("deploy") or {}).get("resources") or {}).get("limits") or {}
    value = limits.get("memory") or service.get("mem_limit")
    return None if value is None else parse_bytes(value, docker=True)


def published_ports(service: dict) -> dict[int, int]:
    """container port -> host port"""
    result = {}
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            result[int(port["target"])] = int(port.get("published", port["target"]))
            continue
        parts = str(port).split("/")[0].split(":")
        container = int(parts[-1])
        host = int(parts[-2]) if len(parts) >= 2 else container
        result[container] = host
    return result


def check_schema(report: Report, document: dict) -> None:
    digest = hashlib.sha256(SCHEMA.read_bytes()).hexdigest()
    expected = SCHEMA_SUM.read_text().split()[0]
    if not report.check(digest == expected, f"{rel(SCHEMA)} does not match its checksum"):
        return
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    for error in errors:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        report.error(f"schema: {where}: {error.message}")
    if not errors:
        report.info(f"schema: valid against the Compose Specification ({schema.get('$id', 'compose-spec')})")


def check_services(report: Report, services: dict) -> None:
    for name in SERVICES:
        if not report.check(name in services, f"service {name} is missing"):
            continue
        service = services[name]
        report.check(
            str(service.get("image", "")).startswith(f"ghcr.io/harbor-shop/{name}:"),
            f"{name}: image should be ghcr.io/harbor-shop/{name}:<tag>",
        )
        build = service.get("build") or {}
        args = build.get("args") or {}
        if isinstance(args, list):
            args = dict(item.split("=", 1) for item in args)
        report.check(args.get("SERVICE") == name, f"{name}: build arg SERVICE must be {name}")
        report.check(build.get("dockerfile", "Dockerfile") == "Dockerfile", f"{name}: build from the root Dockerfile")
        env = environment_of(service)
        port = SERVICES[name]
        report.check(
            env.get("LISTEN_ADDR") == f"0.0.0.0:{port}",
            f"{name}: LISTEN_ADDR should be 0.0.0.0:{port}",
        )
        report.check(env.get("OTEL_SERVICE_NAME") == name, f"{name}: OTEL_SERVICE_NAME should be {name}")
        if name in DOMAIN_SERVICES:
            url = env.get("DATABASE_URL", "")
            report.check(
                re.match(rf"^postgres://shop_{name}:[^@]+@postgres:5432/shop$", url) is not None,
                f"{name}: DATABASE_URL must connect as shop_{name} to postgres:5432/shop",
            )
            depends = service.get("depends_on") or {}
            for infra in ("postgres", "kafka"):
                condition = (depends.get(infra) or {}).get("condition") if isinstance(depends, dict) else None
                report.check(
                    condition == "service_healthy",
                    f"{name}: should wait for {infra} to be healthy",
                )
    storefront = services.get("storefront", {})
    depends = storefront.get("depends_on") or {}
    for upstream in DOMAIN_SERVICES:
        report.check(upstream in depends, f"storefront: should depend on {upstream}")


def check_containers(report: Report, services: dict) -> None:
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
        depends = service.get("depends_on") or {}
        items = depends.items() if isinstance(depends, dict) else ((d, {}) for d in depends)
        for target, spec in items:
            if not report.check(target in services, f"{name}: depends on unknown service {target}"):
                continue
            if (spec or {}).get("condition") == "service_healthy":
                report.check(
                    "healthcheck" in services[target],
                    f"{name}: waits for {target} to be healthy, but {target} has no healthcheck",
                )
        for volume in service.get("volumes") or []:
            source = volume.split(":")[0] if isinstance(volume, str) else volume.get("source", "")
            if source.startswith((".", "/")):
                path = (ROOT / source).resolve()
                report.check(path.exists(), f"{name}: mounted path {source} does not exist")
    for name, port in PUBLISHED.items():
        ports = published_ports(services.get(name, {}))
        report.check(ports.get(port) == port, f"{name}: should publish port {port}")
    width = max(len(name) for name, _ in rows) if rows else 0
    report.info("memory limits:")
    for name, limit in rows:
        report.info(f"  {name:<{width}}  {limit // 2**20:>5} MiB")
    report.info(
        f"  {'total':<{width}}  {total // 2**20:>5} MiB = {total / 1e9:.2f} GB "
        f"(budget {MEMORY_BUDGET / 1e9:.1f} GB)"
    )
    report.check(total <= MEMORY_BUDGET, f"memory limits add up to {total / 1e9:.2f} GB, over 1.5 GB")


def check_postgres(report: Report, services: dict) -> None:
    postgres = services.get("postgres")
    if not report.check(postgres is not None, "service postgres is missing"):
        return
    report.check(str(postgres.get("image", "")).startswith("postgres:16"), "postgres: use Postgres 16")
    volumes = [v for v in postgres.get("volumes") or [] if isinstance(v, str)]
    report.check(
        any(v.split(":")[0] in (f"./{PROVISION_SQL}", PROVISION_SQL) for v in volumes),
        f"postgres: must mount {PROVISION_SQL} itself (one source, never a copy)",
    )
    report.check(
        any(v.split(":")[0].endswith("deploy/postgres/provision.sh") and "/docker-entrypoint-initdb.d/" in v for v in volumes),
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
    mounted = any(
        "deploy/prometheus/prometheus.yml" in str(v) for v in (services.get("prometheus") or {}).get("volumes", [])
    )
    report.check(mounted, "prometheus: deploy/prometheus/prometheus.yml is not mounted")


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


def run() -> int:
    report = Report("docker-compose")
    raw = yaml.safe_load(COMPOSE.read_text())
    # Validate what compose would run with no variables set: every ${VAR:-default}.
    document = interpolate(raw, {})
    check_schema(report, document)
    services = document.get("services") or {}
    check_services(report, services)
    check_containers(report, services)
    check_postgres(report, services)
    check_prometheus(report, services)
    check_grafana(report)
    check_jaeger(report, services)
    return report.finish()


if __name__ == "__main__":
    main_guard(run)
