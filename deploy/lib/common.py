"""Helpers shared by the deploy checks (deploy/validate.sh)."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]

# name -> default port. The binaries, the images and the compose/k8s names all use these.
SERVICES = {
    "storefront": 8080,
    "users": 8081,
    "catalog": 8082,
    "orders": 8083,
    "recommendations": 8084,
}
DOMAIN_SERVICES = ["users", "catalog", "orders", "recommendations"]
# Services whose operator paths (/metrics, /ops, /docs, /openapi.json) are served on a
# port of their own (ADMIN_LISTEN_ADDR), never exposed outside the cluster.
ADMIN_PORTS = {"storefront": 8090}


def metrics_port(service: str) -> int:
    """The port Prometheus scrapes: the admin port where there is one."""
    return ADMIN_PORTS.get(service, SERVICES[service])

# The renders of deploy/validate.sh (target/deploy-validate/NAME.yaml): k8s/base and each
# overlay. canary and blue-green are minikube with two recommendations Deployments.
RENDERS = ("base", "minikube", "eks", "canary", "blue-green")
RELEASE_RENDERS = ("canary", "blue-green")
NAME_LABEL = "app.kubernetes.io/name"


def renders_from(argv: list[str]) -> tuple[str, ...]:
    """The render names given after RENDER_DIR on the command line, else all of them."""
    names = tuple(argv[2:]) or RENDERS
    unknown = set(names) - set(RENDERS)
    if unknown:
        raise SystemExit(f"unknown renders {sorted(unknown)}; known: {', '.join(RENDERS)}")
    return names


def service_deployments(deployments: dict[str, dict], service: str) -> list[dict]:
    """The Deployments running `service` (pod label app.kubernetes.io/name), by name: one,
    or two in the release overlays (recommendations-v1/-v2, -blue/-green)."""
    return [
        deployments[name]
        for name in sorted(deployments)
        if ((deployments[name]["spec"]["template"]["metadata"].get("labels") or {}).get(NAME_LABEL)) == service
        and (deployments[name]["metadata"].get("labels") or {}).get("app.kubernetes.io/component") == "service"
    ]


class Report:
    """Collects problems; prints them as it goes; exit code 1 if any."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.errors: list[str] = []
        self.warnings: list[str] = []

    def error(self, message: str) -> None:
        self.errors.append(message)
        print(f"  ERROR   {message}")

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        print(f"  warning {message}")

    def info(self, message: str) -> None:
        print(f"  {message}")

    def check(self, condition: bool, message: str) -> bool:
        if not condition:
            self.error(message)
        return condition

    def finish(self) -> int:
        verdict = "FAILED" if self.errors else "ok"
        print(
            f"  => {self.title}: {verdict} "
            f"({len(self.errors)} error(s), {len(self.warnings)} warning(s))"
        )
        return 1 if self.errors else 0


def load_yaml_documents(path: Path) -> list[dict]:
    with path.open() as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc]


def rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?)b?\s*$", re.IGNORECASE)


def parse_bytes(value: str | int, docker: bool = False) -> int:
    """A memory size in bytes.

    docker=True: Docker/Compose units ('64m', '512M', '1g'), binary and case-insensitive.
    docker=False: Kubernetes quantities ('128Mi' binary, '128M' decimal).
    """
    if isinstance(value, int):
        return value
    match = _SIZE.match(str(value))
    if not match:
        raise ValueError(f"not a memory size: {value!r}")
    number, unit, binary = match.groups()
    exponent = " kmgt".index(unit.lower() or " ")
    base = 1024 if (docker or binary) else 1000
    return int(float(number) * base**exponent)


def main_guard(run) -> None:
    try:
        sys.exit(run())
    except KeyboardInterrupt:
        sys.exit(130)


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in {"1", "true", "yes"}


# ----------------------------------------------------------------------------- shutdown

# What a service does after SIGTERM (libs/shop-server/src/application.rs): stop accepting,
# drain the requests in flight for at most DRAIN_TIMEOUT, then stop the background tasks
# (outbox relay, consumers) for at most BACKGROUND_STOP_TIMEOUT; then, as main returns,
# shop-telemetry's guard flushes the spans with opentelemetry_sdk's
# SdkTracerProvider::shutdown(), whose timeout is 5 s (opentelemetry_sdk 0.33).
SHUTDOWN_SOURCE = ROOT / "libs/shop-server/src/application.rs"
TELEMETRY_FLUSH_SECONDS = 5


def shutdown_seconds() -> dict[str, int]:
    """{'drain': s, 'background': s, 'telemetry': s}, the first two read from the code.

    Raises ValueError when a constant cannot be found (renamed or no longer from_secs)."""
    code = SHUTDOWN_SOURCE.read_text()
    result = {}
    for key, name in (("drain", "DRAIN_TIMEOUT"), ("background", "BACKGROUND_STOP_TIMEOUT")):
        match = re.search(rf"const\s+{name}\s*:\s*Duration\s*=\s*Duration::from_secs\(\s*(\d+)\s*\)", code)
        if not match:
            raise ValueError(f"{rel(SHUTDOWN_SOURCE)}: no `const {name}: Duration = Duration::from_secs(N)`")
        result[key] = int(match.group(1))
    result["telemetry"] = TELEMETRY_FLUSH_SECONDS
    return result


def parse_seconds(value: str | int | float) -> float:
    """A Go/Compose duration ('40s', '1m30s', '500ms') or a number of seconds."""
    if isinstance(value, (int, float)):
        return float(value)
    total, rest = 0.0, str(value).strip()
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 1e-6, "ns": 1e-9}
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|us|ns|h|m|s)", rest):
        total += float(number) * units[unit]
    if not re.fullmatch(r"(?:\d+(?:\.\d+)?(?:ms|us|ns|h|m|s))+", rest):
        raise ValueError(f"not a duration: {value!r}")
    return total
