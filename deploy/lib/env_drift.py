"""Environment drift: the variables each service's code reads vs. what deployments set.

Usage: env_drift.py RENDER_DIR [RENDER...]   (RENDER_DIR/RENDER.yaml; default: all of
common.RENDERS)

Read variables are found in the sources of the service crate and of every workspace
library it depends on ([dependencies], transitively; dev-dependencies and #[cfg(test)]
code excluded; in a library, a read inside `impl Type` counts only if the service or
another of its libraries names Type):
  - string literals passed to <something>env.string/parse/millis/list/required/get
  - string literals passed to std::env::var / var_os, also through an array of literals
    iterated into env::var (`["A", "B"].iter().any(|n| std::env::var(n) ...)`)
  - EnvFilter::from_default_env / try_from_default_env: RUST_LOG
Then deploy/env-policy.yaml adds the planned variables, drops the optional ones from what
must be set, and lists the standard ones that may be set anyway.

Checked: docker-compose.yml `environment` of each service, and for each rendered
Kubernetes overlay the env + envFrom (ConfigMap/Secret keys) of each service Deployment
(both of recommendations' in the canary and blue-green overlays).
Base must match exactly; on EKS, Secrets created out of band are taken from the base
templates (same names and keys).
"""

from __future__ import annotations

import fnmatch
import re
import sys
import tomllib
from pathlib import Path

import yaml

from common import NAME_LABEL, ROOT, SERVICES, Report, load_yaml_documents, main_guard, renders_from

POLICY = ROOT / "deploy/env-policy.yaml"
COMPOSE = ROOT / "docker-compose.yml"

NAME = r"[A-Za-z_][A-Za-z0-9_]*"
ENV_METHOD = re.compile(
    rf"\b\w*env\s*\.\s*(?:string|parse|optional_parse|millis|list|required|get)\s*(?:::\s*<[^()]*?>\s*)?\(\s*\"({NAME})\""
)
STD_VAR = re.compile(rf"\benv\s*::\s*var(?:_os)?\s*\(\s*\"({NAME})\"")
STD_VAR_DYNAMIC = re.compile(r"\benv\s*::\s*var(?:_os)?\s*\(\s*(?!\")")
ARRAY_INTO_VAR = re.compile(
    r"\[\s*((?:\"[A-Za-z0-9_]+\"\s*,\s*)*\"[A-Za-z0-9_]+\"\s*,?\s*)\]"
    r"\s*\.\s*(?:iter|into_iter)\s*\(\s*\)[^;]*?\benv\s*::\s*var(?:_os)?\s*\(\s*(?!\")"
)
DEFAULT_ENV_FILTER = re.compile(r"EnvFilter\s*::\s*(?:try_)?from_default_env\s*\(")
ENV_FILTER_NAMED = re.compile(rf"EnvFilter\s*::\s*(?:try_)?from_env\s*\(\s*\"({NAME})\"")


# ----------------------------------------------------------------------------- sources


def strip_comments(source: str) -> str:
    """Blanks out comments (keeping line breaks), leaving strings and code intact."""
    out = []
    i, n = 0, len(source)
    while i < n:
        c = source[i]
        nxt = source[i + 1] if i + 1 < n else ""
        if c == "/" and nxt == "/":
            end = source.find("\n", i)
            end = n if end == -1 else end
            out.append(" " * (end - i))
            i = end
        elif c == "/" and nxt == "*":
            depth, j = 1, i + 2
            while j < n and depth:
                if source.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif source.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(re.sub(r"[^\n]", " ", source[i:j]))
            i = j
        elif c == "r" and re.match(r'r#*"', source[i:]) and not (i and (source[i - 1].isalnum() or source[i - 1] == "_")):
            hashes = re.match(r"r(#*)\"", source[i:]).group(1)
            end = source.find('"' + hashes, i + 2 + len(hashes))
            end = n if end == -1 else end + 1 + len(hashes)
            out.append(source[i:end])
            i = end
        elif c == '"':
            j = i + 1
            while j < n and source[j] != '"':
                j += 2 if source[j] == "\\" else 1
            out.append(source[i : j + 1])
            i = j + 1
        elif c == "'":
            # A char literal ('x', '\n', '\u{1F600}') or a lifetime ('a): copy either way,
            # but do not let a quote char start a "string".
            match = re.match(r"'(?:\\(?:u\{[0-9a-fA-F]+\}|x[0-9a-fA-F]{2}|.)|[^\\'])'", source[i:])
            length = match.end() if match else 1
            out.append(source[i : i + length])
            i += length
        else:
            out.append(c)
            i += 1
    return "".join(out)


def matching_brace(code: str, open_index: int) -> int:
    """Index just past the brace closing the one at open_index (strings skipped)."""
    depth, i, n = 0, open_index, len(code)
    while i < n:
        c = code[i]
        if c == '"':
            i += 1
            while i < n and code[i] != '"':
                i += 2 if code[i] == "\\" else 1
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return n


CFG_TEST = re.compile(r"#\s*\[\s*cfg\s*\(\s*test\s*\)\s*\]")


def without_test_code(code: str) -> tuple[str, list[str]]:
    """Removes #[cfg(test)] items; returns the code and the names of out-of-line test
    modules (`#[cfg(test)] mod tests;`) whose files are then skipped."""
    skipped_modules = []
    while True:
        match = CFG_TEST.search(code)
        if not match:
            return code, skipped_modules
        start = match.start()
        rest = code[match.end():]
        item = re.match(r"\s*(?:#\s*\[[^\]]*\]\s*)*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;", rest)
        if item:
            skipped_modules.append(item.group(1))
            end = match.end() + item.end()
        else:
            brace = code.find("{", match.end())
            semicolon = code.find(";", match.end())
            if brace == -1 or (semicolon != -1 and semicolon < brace):
                end = (semicolon + 1) if semicolon != -1 else len(code)
            else:
                end = matching_brace(code, brace)
        code = code[:start] + "\n" * code[start:end].count("\n") + code[end:]


def read_variables(code: str) -> tuple[list[tuple[str, int]], int]:
    """(variable, offset) for every read found, and the number of unresolved dynamic reads."""
    found = [(m.group(1), m.start()) for pattern in (ENV_METHOD, STD_VAR, ENV_FILTER_NAMED) for m in pattern.finditer(code)]
    found += [("RUST_LOG", m.start()) for m in DEFAULT_ENV_FILTER.finditer(code)]
    resolved = 0
    for match in ARRAY_INTO_VAR.finditer(code):
        found += [(name, match.start()) for name in re.findall(r'"([A-Za-z0-9_]+)"', match.group(1))]
        resolved += 1
    dynamic = len(STD_VAR_DYNAMIC.findall(code)) - resolved
    return found, max(dynamic, 0)


IMPL = re.compile(r"\bimpl\b(?:\s*<[^{;]*?>)?\s+(?:[\w:<>, ]+?\s+for\s+)?(?:[\w]+::)*([A-Za-z_]\w*)[^{;]*\{")


def impl_spans(code: str) -> list[tuple[int, int, str]]:
    """(start, end, type) of every impl block."""
    spans = []
    for match in IMPL.finditer(code):
        spans.append((match.start(), matching_brace(code, match.end() - 1), match.group(1)))
    return spans


def owner_type(spans: list[tuple[int, int, str]], offset: int) -> str | None:
    inner = [span for span in spans if span[0] <= offset < span[1]]
    return min(inner, key=lambda span: span[1] - span[0])[2] if inner else None


def workspace_libraries() -> dict[str, Path]:
    manifest = tomllib.loads((ROOT / "Cargo.toml").read_text())
    deps = manifest.get("workspace", {}).get("dependencies", {})
    return {
        name: (ROOT / spec["path"]).resolve()
        for name, spec in deps.items()
        if isinstance(spec, dict) and "path" in spec
    }


def crate_closure(crate: Path, libraries: dict[str, Path]) -> list[Path]:
    """The crate and every workspace library it depends on, transitively (normal deps)."""
    seen: list[Path] = []
    stack = [crate]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.append(current)
        manifest = tomllib.loads((current / "Cargo.toml").read_text())
        tables = [manifest.get("dependencies", {})]
        tables += [t.get("dependencies", {}) for t in manifest.get("target", {}).values()]
        for table in tables:
            for name, spec in table.items():
                package = spec.get("package", name) if isinstance(spec, dict) else name
                if package in libraries:
                    stack.append(libraries[package])
                elif isinstance(spec, dict) and "path" in spec:
                    stack.append((current / spec["path"]).resolve())
    return seen


_warned: set[Path] = set()


def variables_read_by(service: str, report: Report, dynamic_ok: set[str]) -> dict[str, set[str]]:
    """variable -> where it is read ("crate" or "crate::Type").

    In the service's own crate every read counts. In a library, a read inside an
    `impl Type` block (typically `Type::from_env`) counts only if the service's crate or
    another library it depends on names `Type`: users depends on shop-auth for tokens but
    never builds an AuthConfig, so it does not read JWKS_URL. Reads outside impl blocks
    (free functions such as shop_telemetry::init) always count.
    """
    libraries = workspace_libraries()
    service_crate = (ROOT / "services" / service).resolve()
    crates = crate_closure(service_crate, libraries)
    texts: dict[Path, dict[Path, str]] = {}
    for crate in crates:
        files = sorted((crate / "src").rglob("*.rs"))
        skipped: set[Path] = set()
        texts[crate] = {}
        for path in files:
            code, test_modules = without_test_code(strip_comments(path.read_text()))
            texts[crate][path] = code
            for module in test_modules:
                for folder in (path.parent, path.parent / path.stem):
                    skipped |= {folder / f"{module}.rs", folder / module / "mod.rs"}
                    skipped |= set((folder / module).rglob("*.rs"))
        for path in skipped:
            texts[crate].pop(path, None)

    def type_used(type_name: str, defining_crate: Path) -> bool:
        word = re.compile(rf"\b{re.escape(type_name)}\b")
        return any(
            word.search(code)
            for crate, files in texts.items()
            if crate != defining_crate
            for code in files.values()
        )

    found: dict[str, set[str]] = {}
    for crate, files in texts.items():
        for path, code in files.items():
            reads, dynamic = read_variables(code)
            relative = str(path.relative_to(ROOT))
            if dynamic and relative not in dynamic_ok and path not in _warned:
                _warned.add(path)
                report.warn(
                    f"{relative}: {dynamic} env::var call(s) with a computed name; "
                    "their variables cannot be checked"
                )
            spans = impl_spans(code) if crate != service_crate else []
            for name, offset in reads:
                owner = owner_type(spans, offset)
                if owner and not type_used(owner, crate):
                    continue
                found.setdefault(name, set()).add(f"{crate.name}::{owner}" if owner else crate.name)
    return found


# ----------------------------------------------------------------------------- policy


class Policy:
    def __init__(self) -> None:
        data = yaml.safe_load(POLICY.read_text()) or {}
        self.planned: dict[str, list[str]] = data.get("planned") or {}
        self.optional: dict[str, str] = data.get("optional") or {}
        self.standard: list[str] = data.get("standard") or []
        self.dynamic_ok: set[str] = set(data.get("dynamic_ok") or [])
        for name, services in self.planned.items():
            unknown = set(services) - set(SERVICES)
            if unknown:
                raise SystemExit(f"{POLICY}: planned {name} names unknown services {sorted(unknown)}")

    def is_standard(self, name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.standard)


def expectations(report: Report, policy: Policy) -> dict[str, tuple[set[str], set[str]]]:
    """service -> (required, allowed)"""
    result = {}
    for service in SERVICES:
        read = variables_read_by(service, report, policy.dynamic_ok)
        planned = {name for name, services in policy.planned.items() if service in services}
        for name in sorted(planned & set(read)):
            report.warn(
                f"{service}: {name} is read by the code now ({', '.join(sorted(read[name]))}); "
                "remove it from `planned` in deploy/env-policy.yaml"
            )
        required = (set(read) - set(policy.optional)) | planned
        allowed = required | set(read)
        result[service] = (required, allowed)
        report.info(f"{service}: reads {len(read)} variable(s), must be given {len(required)}")
    return result


def compare(report: Report, where: str, service: str, given: set[str], expected, policy: Policy) -> None:
    required, allowed = expected
    missing = sorted(required - given)
    unknown = sorted(name for name in given - allowed if not policy.is_standard(name))
    if missing:
        report.error(f"{where}: {service} lacks {', '.join(missing)}")
    if unknown:
        report.error(f"{where}: {service} sets {', '.join(unknown)}, which no code reads (deploy/env-policy.yaml)")


# ----------------------------------------------------------------------------- targets


def compose_environments() -> dict[str, set[str]]:
    document = yaml.safe_load(COMPOSE.read_text())
    result = {}
    for name, service in (document.get("services") or {}).items():
        env = service.get("environment") or {}
        if isinstance(env, list):
            env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
        result[name] = set(env)
    return result


def index(documents: list[dict]) -> dict[tuple[str, str], dict]:
    return {(d.get("kind"), d["metadata"]["name"]): d for d in documents if d.get("metadata")}


def keys_of(resource: dict) -> set[str]:
    return set(resource.get("data") or {}) | set(resource.get("stringData") or {})


def generated(resources: dict, kind: str, name: str) -> dict | None:
    """ConfigMaps from generators carry a hash suffix: name-xxxxxxxxxx."""
    if (kind, name) in resources:
        return resources[(kind, name)]
    for (k, n), resource in resources.items():
        if k == kind and re.fullmatch(re.escape(name) + r"-[a-z0-9]{10}", n):
            return resource
    return None


def kubernetes_environments(
    report: Report, render: str, documents: list[dict], base: dict | None
) -> dict[str, dict[str, set[str]]]:
    """service -> Deployment name -> the variables it is given."""
    resources = index(documents)
    result: dict[str, dict[str, set[str]]] = {}
    for (kind, name), resource in resources.items():
        service = ((resource.get("spec") or {}).get("template", {}).get("metadata", {}).get("labels") or {}).get(NAME_LABEL)
        if kind != "Deployment" or service not in SERVICES:
            continue
        containers = resource["spec"]["template"]["spec"]["containers"]
        app = next((c for c in containers if c["name"] == "app"), containers[0])
        names = {item["name"] for item in app.get("env") or []}
        for source in app.get("envFrom") or []:
            if "configMapRef" in source:
                ref = source["configMapRef"]["name"]
                found = generated(resources, "ConfigMap", ref)
                if report.check(found is not None, f"{render}: {name} uses ConfigMap {ref}, not rendered"):
                    names |= keys_of(found)
            elif "secretRef" in source:
                ref = source["secretRef"]["name"]
                found = resources.get(("Secret", ref))
                if found is None and base is not None:
                    found = base.get(("Secret", ref))  # created out of band, like the template
                if report.check(found is not None, f"{render}: {name} uses Secret {ref}, defined nowhere"):
                    names |= keys_of(found)
        result.setdefault(service, {})[name] = names
    return result


def run() -> int:
    report = Report("environment drift")
    render_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "target/deploy-validate"
    policy = Policy()
    expected = expectations(report, policy)

    compose = compose_environments()
    for service in SERVICES:
        if report.check(service in compose, f"compose: service {service} missing"):
            compare(report, "compose", service, compose[service], expected[service], policy)

    base_path = render_dir / "base.yaml"
    base = index(load_yaml_documents(base_path)) if base_path.exists() else None
    for render in renders_from(sys.argv):
        path = render_dir / f"{render}.yaml"
        if not report.check(path.exists(), f"k8s {render}: {path} not rendered"):
            continue
        environments = kubernetes_environments(report, f"k8s {render}", load_yaml_documents(path), base)
        for service in SERVICES:
            if report.check(service in environments, f"k8s {render}: no Deployment {service}"):
                for deployment, given in sorted(environments[service].items()):
                    where = f"k8s {render}" + (f" ({deployment})" if deployment != service else "")
                    compare(report, where, service, given, expected[service], policy)
    return report.finish()


if __name__ == "__main__":
    main_guard(run)
