"""Security lint: checkov on the rendered overlays and the Dockerfile, gated by
deploy/checkov-skips.yaml.

Usage: checkov_gate.py RENDER_DIR [RENDER...]   (default: all of common.RENDERS)

Offline checkov reports no severities (they come from Prisma Cloud), so a HIGH/CRITICAL
threshold would let everything through: every failed check blocks unless an entry of
deploy/checkov-skips.yaml, with its justification, covers it. Skips that match nothing
are reported so that the list stays honest.
"""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from common import RENDERS, ROOT, Report, main_guard, renders_from

SKIPS = ROOT / "deploy/checkov-skips.yaml"
TARGETS = {f"{render}.yaml": render for render in RENDERS} | {"Dockerfile": "dockerfile"}


def load_skips(report: Report) -> list[dict]:
    skips = (yaml.safe_load(SKIPS.read_text()) or {}).get("skips") or []
    for skip in skips:
        if not str(skip.get("why", "")).strip() or not skip.get("check") or not skip.get("targets"):
            report.error(f"{SKIPS.name}: entry {skip.get('check')} needs check, targets and why")
        unknown = set(skip.get("targets") or []) - set(TARGETS.values())
        if unknown:
            report.error(f"{SKIPS.name}: entry {skip.get('check')} names unknown targets {sorted(unknown)}")
    return skips


def covering(skips: list[dict], check: str, target: str, resource: str) -> dict | None:
    for skip in skips:
        if skip.get("check") != check or target not in (skip.get("targets") or []):
            continue
        resources = skip.get("resources")
        if resources and not any(fnmatch.fnmatchcase(resource, pattern) for pattern in resources):
            continue
        return skip
    return None


def run() -> int:
    report = Report("checkov")
    render_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "target/deploy-validate"
    skips = load_skips(report)
    files = [render_dir / f"{name}.yaml" for name in renders_from(sys.argv)] + [ROOT / "Dockerfile"]
    checkov = Path(sys.executable).with_name("checkov")
    command = [
        str(checkov),
        "--framework", "kubernetes", "dockerfile",
        "--output", "json",
        "--quiet",
        "--compact",
        "--skip-download",  # offline: no guidelines, no severities, no platform calls
        "--soft-fail",  # the gate below decides
    ]
    for path in files:
        command += ["--file", str(path)]
    env = dict(os.environ, BC_SKIP_MAPPING="TRUE", CKV_SKIP_PACKAGE_UPDATE_CHECK="TRUE", LOG_LEVEL="ERROR")
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
    try:
        output = json.loads(result.stdout)
    except json.JSONDecodeError:
        report.error(f"checkov produced no JSON (exit {result.returncode}): {result.stderr.strip()[-2000:]}")
        return report.finish()
    reports = output if isinstance(output, list) else [output]

    used: set[int] = set()
    blocking = 0
    passed = 0
    tolerated = 0
    for framework in reports:
        results = framework.get("results") or {}
        passed += int((framework.get("summary") or {}).get("passed", 0))
        for error in results.get("parsing_errors") or []:
            report.error(f"checkov could not parse {error}")
        for failed in results.get("failed_checks") or []:
            path = Path(failed.get("file_abs_path") or failed.get("file_path", ""))
            target = TARGETS.get(path.name, path.name)
            check, resource = failed["check_id"], failed.get("resource", "")
            skip = covering(skips, check, target, resource)
            if skip is not None:
                used.add(id(skip))
                tolerated += 1
                continue
            blocking += 1
            severity = failed.get("severity") or "no severity offline"
            lines = failed.get("file_line_range") or []
            report.error(
                f"{target}: {check} {failed.get('check_name', '')} [{severity}] "
                f"- {resource} ({path.name}:{'-'.join(map(str, lines))})"
            )
    for skip in skips:
        if id(skip) not in used:
            report.warn(f"{SKIPS.name}: {skip.get('check')} on {skip.get('targets')} matched nothing; remove it?")
    report.info(
        f"checks passed: {passed}, failed and justified in {SKIPS.name}: {tolerated}, blocking: {blocking}"
    )
    return report.finish()


if __name__ == "__main__":
    main_guard(run)
