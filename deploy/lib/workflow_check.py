"""Checks the GitHub workflows (.github/workflows), which cannot run here.

Usage: workflow_check.py

Always, the project's rules for images.yml (what it is for):
  - every action is pinned to a major version tag (owner/repo@vN);
  - the images are built with docker/setup-qemu-action, setup-buildx-action and
    build-push-action for linux/amd64 and linux/arm64, through the GitHub Actions cache,
    in a matrix over exactly the five services;
  - a job runs `docker compose up --wait` and then the API journey (deploy/smoke.sh);
  - a job creates a kind cluster, loads the images, runs `kubectl apply -k
    k8s/overlays/minikube` (no --load-restrictor) and waits for the rollouts.
actionlint (run before this by validate.sh) checks the syntax, the expressions, the
actions' inputs and, through shellcheck, every `run:` script.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from common import ROOT, SERVICES, Report, main_guard, rel

WORKFLOWS = ROOT / ".github/workflows"
IMAGES = WORKFLOWS / "images.yml"
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@v\d+$")


def load(path: Path) -> dict:
    # YAML 1.1 reads the key `on` as True; put it back.
    document = yaml.safe_load(path.read_text()) or {}
    if True in document:
        document["on"] = document.pop(True)
    return document


def steps_of(document: dict):
    for job_name, job in (document.get("jobs") or {}).items():
        for index, step in enumerate(job.get("steps") or []):
            yield job_name, index, step


def check_pins(report: Report, path: Path, document: dict) -> None:
    for job, index, step in steps_of(document):
        uses = step.get("uses")
        if uses and not uses.startswith(("./", "docker://")):
            report.check(PINNED.match(uses) is not None, f"{rel(path)}: job {job} step {index + 1}: {uses} is not pinned to a major version (@vN)")


def check_images(report: Report, document: dict) -> None:
    where = rel(IMAGES)
    jobs = document.get("jobs") or {}
    uses = {job: [s.get("uses", "").split("@")[0] for s in j.get("steps") or []] for job, j in jobs.items()}
    runs = {job: "\n".join(s.get("run", "") for s in j.get("steps") or []) for job, j in jobs.items()}

    builders = [job for job, actions in uses.items() if "docker/build-push-action" in actions]
    if not report.check(bool(builders), f"{where}: no job builds images with docker/build-push-action"):
        return
    for job in builders:
        for action in ("docker/setup-qemu-action", "docker/setup-buildx-action"):
            report.check(action in uses[job], f"{where}: job {job} builds images without {action}")
    pushes = [
        (job, s.get("with") or {})
        for job in builders
        for s in jobs[job].get("steps") or []
        if s.get("uses", "").startswith("docker/build-push-action")
    ]
    multi = [(job, w) for job, w in pushes if {"linux/amd64", "linux/arm64"} <= set(str(w.get("platforms", "")).replace(" ", "").split(","))]
    report.check(bool(multi), f"{where}: no build for both linux/amd64 and linux/arm64")
    for job, with_ in pushes:
        report.check("type=gha" in str(with_.get("cache-from", "")), f"{where}: job {job}: a build without cache-from type=gha")
    matrix_jobs = [
        job
        for job in builders
        if any("SERVICE=${{ matrix.service }}" in str(w.get("build-args", "")) for j, w in pushes if j == job)
    ]
    if report.check(bool(matrix_jobs), f"{where}: no image build with build-args SERVICE=${{{{ matrix.service }}}}"):
        for job in matrix_jobs:
            services = ((jobs[job].get("strategy") or {}).get("matrix") or {}).get("service") or []
            report.check(sorted(services) == sorted(SERVICES), f"{where}: job {job}: matrix.service {services} should be the five services")
            report.check(
                any(set(str(w.get("platforms", "")).replace(" ", "").split(",")) >= {"linux/amd64", "linux/arm64"} for j, w in pushes if j == job),
                f"{where}: job {job} does not build each service for linux/amd64 and linux/arm64",
            )

    compose = [job for job, script in runs.items() if re.search(r"docker compose up\b[^\n]*--wait", script)]
    if report.check(bool(compose), f"{where}: no job runs `docker compose up --wait`"):
        for job in compose:
            report.check("deploy/smoke.sh" in runs[job], f"{where}: job {job} starts compose but runs no API journey (deploy/smoke.sh)")

    kind = [job for job in jobs if "helm/kind-action" in uses[job] or "kind create cluster" in runs[job]]
    if report.check(bool(kind), f"{where}: no job creates a kind cluster"):
        for job in kind:
            script = runs[job]
            report.check("kind load docker-image" in script, f"{where}: job {job} does not load the images into kind")
            report.check(
                re.search(r"kubectl apply -k k8s/overlays/minikube\b", script) is not None,
                f"{where}: job {job} should run `kubectl apply -k k8s/overlays/minikube`",
            )
            report.check("load-restrictor" not in script, f"{where}: job {job} passes --load-restrictor; plain kubectl must work")
            report.check("rollout status" in script, f"{where}: job {job} does not wait for the rollouts")
    report.check((ROOT / "deploy/smoke.sh").exists(), "deploy/smoke.sh (the API journey the jobs run) is missing")


def run() -> int:
    report = Report("workflows")
    files = sorted(p for p in WORKFLOWS.glob("*.y*ml")) if WORKFLOWS.is_dir() else []
    if not report.check(IMAGES in files, f"{rel(IMAGES)} is missing"):
        return report.finish()
    for path in files:
        document = load(path)
        check_pins(report, path, document)
        if path == IMAGES:
            check_images(report, document)
    report.info(f"{len(files)} workflow file(s): pins and images.yml's jobs checked")
    return report.finish()


if __name__ == "__main__":
    main_guard(run)
