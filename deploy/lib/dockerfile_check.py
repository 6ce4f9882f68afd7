"""The Dockerfile's own rules, beyond what hadolint and checkov lint.

- One build for the five: a stage runs a single `cargo build --release --locked` with
  `-p` for every service, and no stage up to and including it declares `ARG SERVICE`
  (BuildKit then shares those stages across the five image builds); the dependencies are
  cooked once (cargo-chef) for the five packages.
- The runtime is gcr.io/distroless/cc-debian12:nonroot, runs as 65532, holds the one
  binary at /usr/local/bin/service, copied from target/release/${SERVICE}, and its
  HEALTHCHECK is that binary's `healthcheck` (exec form: the image has no shell).
- No zlib1g-dev in the build: zlib is compiled in (rdkafka `libz-static`), because the
  runtime has no libz.so.1.
"""

from __future__ import annotations

import re

from common import ROOT, SERVICES, Report, main_guard

DOCKERFILE = ROOT / "Dockerfile"
RUNTIME = "gcr.io/distroless/cc-debian12:nonroot"
HEALTHCHECK = '["/usr/local/bin/service", "healthcheck"]'


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    result, current = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        keyword, _, rest = current.partition(" ")
        result.append((keyword.upper(), rest.strip()))
        current = ""
    return result


def stages(text: str) -> list[dict]:
    """[{'name', 'base', 'body': [(INSTRUCTION, args)]}] in order."""
    result: list[dict] = []
    for keyword, args in instructions(text):
        if keyword == "FROM":
            match = re.match(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", args, re.IGNORECASE)
            result.append({"base": match.group(1), "name": (match.group(2) or "").lower(), "body": []})
        elif result:
            result[-1]["body"].append((keyword, args))
    return result


def run() -> int:
    report = Report("Dockerfile rules")
    text = DOCKERFILE.read_text()
    all_stages = stages(text)
    by_name = {stage["name"]: stage for stage in all_stages}

    def lineage(stage: dict) -> list[dict]:
        chain = [stage]
        while chain[-1]["base"].lower() in by_name:
            chain.append(by_name[chain[-1]["base"].lower()])
        return chain

    # One cargo build for all five services.
    builds = [
        (stage, args)
        for stage in all_stages
        for keyword, args in stage["body"]
        if keyword == "RUN" and re.search(r"\bcargo build\b", args)
    ]
    if report.check(len(builds) == 1, f"expected exactly one RUN cargo build, found {len(builds)}"):
        stage, args = builds[0]
        packages = set(re.findall(r"(?:-p|--package)[ =](\S+)", args))
        report.check(packages == set(SERVICES), f"the cargo build in stage {stage['name']} builds {sorted(packages)}, not the five services")
        report.check("--release" in args and "--locked" in args, "cargo build must use --release --locked")
        report.check("$" not in args, f"the cargo build in stage {stage['name']} must not depend on a build argument")
        with_service = [s["name"] for s in lineage(stage) if any(k == "ARG" and a.split("=")[0] == "SERVICE" for k, a in s["body"])]
        report.check(
            not with_service,
            f"ARG SERVICE in {with_service}: the stages up to {stage['name']} must not depend on SERVICE (shared by the five builds)",
        )
        report.info(f"stage {stage['name']}: one cargo build for {', '.join(sorted(packages))}")
    cooks = [args for stage in all_stages for keyword, args in stage["body"] if keyword == "RUN" and "cargo chef cook" in args]
    if report.check(len(cooks) == 1, f"expected exactly one RUN cargo chef cook, found {len(cooks)}"):
        packages = set(re.findall(r"(?:-p|--package)[ =](\S+)", cooks[0]))
        report.check(packages == set(SERVICES), f"cargo chef cook prepares {sorted(packages)}, not the five services")

    # The runtime stage.
    runtime = all_stages[-1] if all_stages else {"base": "", "name": "", "body": []}
    report.check(runtime["base"] == RUNTIME, f"the last stage must be {RUNTIME}, not {runtime['base']}")
    body = runtime["body"]
    copies = [a for k, a in body if k == "COPY"]
    report.check(
        any(a.endswith(" /usr/local/bin/service") for a in copies),
        "the runtime must COPY the binary to /usr/local/bin/service",
    )
    picked = any("target/release/${SERVICE}" in a for s in all_stages for k, a in s["body"] if k in ("RUN", "COPY"))
    report.check(picked, "the image's binary must come from target/release/${SERVICE}")
    report.check(("USER", "65532:65532") in body, "the runtime must run as USER 65532:65532")
    health = [a for k, a in body if k == "HEALTHCHECK"]
    report.check(
        len(health) == 1 and re.search(r"\bCMD\s+" + re.escape(HEALTHCHECK) + r"\s*$", health[0]) is not None,
        f"the runtime needs HEALTHCHECK ... CMD {HEALTHCHECK} (exec form: no shell in distroless)",
    )
    if health:
        for option in ("interval", "timeout", "start-period"):
            report.check(f"--{option}=" in health[0], f"HEALTHCHECK should set --{option}")
    report.check(("ENTRYPOINT", '["/usr/local/bin/service"]') in body, 'ENTRYPOINT must be ["/usr/local/bin/service"]')

    # zlib is built in, never taken from the system.
    installs = " ".join(a for s in all_stages for k, a in s["body"] if k == "RUN" and "apt-get install" in a)
    report.check("zlib1g-dev" not in installs, "zlib1g-dev is installed: libz-sys would link libz.so.1, which distroless cc lacks")
    return report.finish()


if __name__ == "__main__":
    main_guard(run)
