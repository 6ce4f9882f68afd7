#!/usr/bin/env bash
# Copies the files the kustomizations read from their single sources into k8s/, so that
# plain `kubectl apply -k k8s/overlays/<overlay>` works (kustomize reads nothing outside a
# kustomization's directory):
#
#   libs/shop-db/sql/provision.sql, deploy/postgres/provision.sh -> k8s/base/db-provision/
#   deploy/grafana/provisioning/*/*.yaml -> k8s/components/observability/grafana/provisioning/
#   deploy/grafana/dashboards/*.json     -> k8s/components/observability/grafana/dashboards/
#   deploy/jaeger/config.yaml            -> k8s/overlays/minikube/jaeger-config.yaml
#   deploy/prometheus/rules/slo.yml      -> k8s/components/observability/prometheus-rules/
#
# Edit the sources, never the copies, then run this and commit both. deploy/validate.sh
# fails while a copy differs from its source. A new dashboard must also be listed in
# k8s/components/observability/kustomization.yaml (kustomize has no globs).
#
#   deploy/sync-k8s-files.sh            copy what changed
#   deploy/sync-k8s-files.sh --check    only report copies that differ (exit 1 if any)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PYTHONDONTWRITEBYTECODE=1
case "${1:-}" in
    "") exec python3 "$ROOT/deploy/lib/k8s_files.py" sync ;;
    --check) exec python3 "$ROOT/deploy/lib/k8s_files.py" check ;;
    *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac
