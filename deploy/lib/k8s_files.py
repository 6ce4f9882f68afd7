"""The files the kustomizations need, copied below them from their single sources.

Kustomize (and so plain `kubectl apply -k`) reads only files inside or below a
kustomization's own directory. The db-provision scripts, the Grafana provisioning and
dashboards, the Prometheus SLO rules and the Jaeger configuration have their sources elsewhere (libs/, deploy/),
shared with docker-compose and cargo xtask, so each kustomization carries a copy. The
sources stay the only files to edit; the copies are refreshed by

    deploy/sync-k8s-files.sh            (this module: `python3 deploy/lib/k8s_files.py sync`)

and deploy/validate.sh (k8s-rules, deploy/lib/k8s_check.py) fails, naming the file, when a
copy differs from its source, is missing, or has no source any more.

Standard library only: the sync script runs without the validation venv.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SYNC_SCRIPT = "deploy/sync-k8s-files.sh"

# (source, copy), relative to the repository root.
FIXED = [
    ("libs/shop-db/sql/provision.sql", "k8s/base/db-provision/provision.sql"),
    ("deploy/postgres/provision.sh", "k8s/base/db-provision/provision.sh"),
    (
        "deploy/grafana/provisioning/datasources/datasources.yaml",
        "k8s/components/observability/grafana/provisioning/datasources.yaml",
    ),
    (
        "deploy/grafana/provisioning/dashboards/dashboards.yaml",
        "k8s/components/observability/grafana/provisioning/dashboards.yaml",
    ),
    ("deploy/jaeger/config.yaml", "k8s/overlays/minikube/jaeger-config.yaml"),
    ("deploy/prometheus/rules/slo.yml", "k8s/components/observability/prometheus-rules/slo.yml"),
]
# Every dashboard of deploy/grafana/dashboards, one copy each.
DASHBOARDS_SOURCE = "deploy/grafana/dashboards"
DASHBOARDS_COPY = "k8s/components/observability/grafana/dashboards"


def pairs() -> list[tuple[Path, Path]]:
    """(source, copy) absolute paths: the fixed files, then one per dashboard."""
    result = [(ROOT / source, ROOT / copy) for source, copy in FIXED]
    for dashboard in sorted((ROOT / DASHBOARDS_SOURCE).glob("*.json")):
        result.append((dashboard, ROOT / DASHBOARDS_COPY / dashboard.name))
    return result


def stale_copies() -> list[Path]:
    """Dashboard copies whose source was removed."""
    sources = {p.name for p in (ROOT / DASHBOARDS_SOURCE).glob("*.json")}
    return sorted(p for p in (ROOT / DASHBOARDS_COPY).glob("*.json") if p.name not in sources)


def relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


def drift() -> list[str]:
    """One message per copy that is not byte for byte its source."""
    problems = []
    for source, copy in pairs():
        if not source.exists():
            problems.append(f"{relative(source)} (source of {relative(copy)}) does not exist")
        elif not copy.exists():
            problems.append(f"{relative(copy)} is missing: run {SYNC_SCRIPT}")
        elif copy.read_bytes() != source.read_bytes():
            problems.append(f"{relative(copy)} differs from its source {relative(source)}: run {SYNC_SCRIPT}")
    for copy in stale_copies():
        problems.append(f"{relative(copy)} has no source in {DASHBOARDS_SOURCE}: run {SYNC_SCRIPT}")
    return problems


def sync() -> int:
    changed = 0
    for source, copy in pairs():
        if not source.exists():
            print(f"missing source: {relative(source)}", file=sys.stderr)
            return 1
        data = source.read_bytes()
        if copy.exists() and copy.read_bytes() == data:
            continue
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_bytes(data)
        # Keep the executable bit of scripts (provision.sh); the ConfigMap does not care.
        copy.chmod(source.stat().st_mode & 0o777)
        print(f"  {relative(source)} -> {relative(copy)}")
        changed += 1
    for copy in stale_copies():
        copy.unlink()
        print(f"  removed {relative(copy)} (its source is gone)")
        changed += 1
    print(f"{changed} file(s) updated, {len(pairs())} copies in sync")
    return 0


def check() -> int:
    problems = drift()
    for problem in problems:
        print(f"  {problem}")
    if not problems:
        print(f"  {len(pairs())} copies under k8s/ equal their sources")
    return 1 if problems else 0


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "sync"
    if command not in ("sync", "check"):
        sys.exit(f"usage: {sys.argv[0]} [sync|check]")
    sys.exit(sync() if command == "sync" else check())
