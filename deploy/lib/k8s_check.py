"""Checks on the rendered Kubernetes overlays that schemas and checkov do not make.

Usage: k8s_check.py RENDER_DIR   (base.yaml, minikube.yaml, eks.yaml)

- Each service has its Deployment, Service, HorizontalPodAutoscaler, PodDisruptionBudget,
  ServiceAccount and NetworkPolicy; the Deployment has startup/liveness/readiness probes on
  /health/live and /health/ready, resource requests and limits, and the hardened security
  context (non-root, read-only root filesystem, no privilege escalation, all capabilities
  dropped, seccomp RuntimeDefault).
- Network policies match the configuration: a default deny; each service may call exactly
  the services named by the URLs in its configuration (storefront: all four; JWKS_URL:
  users) and is reachable from exactly those callers; database and Kafka egress only for
  the services that have DATABASE_URL / KAFKA_BROKERS; DNS for everyone.
- Copies (deploy/lib/k8s_files.py): every file a kustomization reads from elsewhere is a
  byte-for-byte copy below it of its source (provision.sql, provision.sh, the Grafana
  files, Jaeger's configuration); a copy that differs, is missing or has lost its source
  fails, naming the file and deploy/sync-k8s-files.sh. The rendered ConfigMaps are then
  compared with the sources themselves: the db-provision Job mounts the ConfigMap holding
  provision.sql and provision.sh, minikube's Jaeger the one holding deploy/jaeger/config.yaml.
- Observability (overlays with Grafana, i.e. minikube and EKS, from
  k8s/components/observability): the Grafana ConfigMaps hold every file of
  deploy/grafana/dashboards and the provisioning files byte for byte (and nothing else),
  mounted where the provisioning files expect them; every data source URL names a Service
  of the render on that port (a missing Jaeger on EKS is a warning); Prometheus has a job
  per service whose DNS name is a headless Service selecting that service's pods on its
  port; network policies let Prometheus scrape each service and Grafana reach Prometheus.
- Shutdown: each service's preStop sleep + drain + background stop + span flush (the
  drain and background-stop constants read from libs/shop-server, and equal to the pod
  annotations that state them) fit within terminationGracePeriodSeconds. users' memory
  limit holds PASSWORD_HASH_CONCURRENCY Argon2id hashes (19 MiB each).
- Storefront cookies: COOKIE_SECURE=false on minikube (plain http), Secure (unset or true)
  in the base and on EKS (HTTPS at the ALB).
- Overlay specifics: minikube has Postgres and Kafka and a NodePort storefront; EKS has an
  ALB Ingress, IRSA annotations, zone spreading, at least 3 replicas, no Secret values, and
  NetworkPolicy CIDRs equal to the VPC CIDR in eksctl-cluster.yaml.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from urllib.parse import urlparse

import yaml

import k8s_files
from common import DOMAIN_SERVICES, ROOT, SERVICES, Report, load_yaml_documents, main_guard, parse_bytes, rel, shutdown_seconds

EKSCTL = ROOT / "k8s/overlays/eks/eksctl-cluster.yaml"
JAEGER_CONFIG = ROOT / "deploy/jaeger/config.yaml"
GRAFANA = ROOT / "deploy/grafana"
GRAFANA_PROVISIONING = {
    "datasources.yaml": GRAFANA / "provisioning/datasources/datasources.yaml",
    "dashboards.yaml": GRAFANA / "provisioning/dashboards/dashboards.yaml",
}
NAME_LABEL = "app.kubernetes.io/name"


def by_kind(documents: list[dict]) -> dict[str, dict[str, dict]]:
    result: dict[str, dict[str, dict]] = {}
    for doc in documents:
        result.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    return result


def config_of(resources: dict, deployment: dict) -> dict[str, str]:
    """The env values a Deployment's app container gets from its ConfigMaps."""
    app = deployment["spec"]["template"]["spec"]["containers"][0]
    values = {e["name"]: e.get("value", "") for e in app.get("env") or [] if "value" in e}
    for source in app.get("envFrom") or []:
        ref = (source.get("configMapRef") or {}).get("name")
        if ref and ref in resources.get("ConfigMap", {}):
            values.update(resources["ConfigMap"][ref].get("data") or {})
    return values


def secret_keys(resources: dict, base: dict, deployment: dict) -> set[str]:
    app = deployment["spec"]["template"]["spec"]["containers"][0]
    keys: set[str] = set()
    for source in app.get("envFrom") or []:
        ref = (source.get("secretRef") or {}).get("name")
        if ref:
            secret = resources.get("Secret", {}).get(ref) or base.get("Secret", {}).get(ref) or {}
            keys |= set(secret.get("stringData") or {}) | set(secret.get("data") or {})
    return keys


def selects(selector: dict, labels: dict) -> bool:
    match = (selector or {}).get("matchLabels") or {}
    return all(labels.get(k) == v for k, v in match.items()) and not (selector or {}).get("matchExpressions")


def check_workloads(report: Report, render: str, resources: dict) -> None:
    for name, port in SERVICES.items():
        for kind in ("Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "ServiceAccount", "NetworkPolicy"):
            report.check(name in resources.get(kind, {}), f"{render}: {kind} {name} missing")
        deployment = resources.get("Deployment", {}).get(name)
        if not deployment:
            continue
        pod = deployment["spec"]["template"]["spec"]
        app = pod["containers"][0]
        where = f"{render}: {name}"
        report.check("replicas" not in deployment["spec"], f"{where}: replicas set although an HPA scales it")
        report.check(pod.get("serviceAccountName") == name, f"{where}: should run as ServiceAccount {name}")
        report.check(pod.get("automountServiceAccountToken") is False, f"{where}: automountServiceAccountToken should be false")
        pod_sc = pod.get("securityContext") or {}
        report.check(pod_sc.get("runAsNonRoot") is True, f"{where}: runAsNonRoot")
        report.check((pod_sc.get("seccompProfile") or {}).get("type") == "RuntimeDefault", f"{where}: seccomp RuntimeDefault")
        sc = app.get("securityContext") or {}
        report.check(sc.get("readOnlyRootFilesystem") is True, f"{where}: readOnlyRootFilesystem")
        report.check(sc.get("allowPrivilegeEscalation") is False, f"{where}: allowPrivilegeEscalation false")
        report.check((sc.get("capabilities") or {}).get("drop") == ["ALL"], f"{where}: drop ALL capabilities")
        for probe, path in (("startupProbe", "/health/live"), ("livenessProbe", "/health/live"), ("readinessProbe", "/health/ready")):
            get = (app.get(probe) or {}).get("httpGet") or {}
            report.check(get.get("path") == path and get.get("port") in ("http", port), f"{where}: {probe} on {path}")
        resources_ = app.get("resources") or {}
        for part in ("requests", "limits"):
            report.check({"cpu", "memory"} <= set(resources_.get(part) or {}), f"{where}: {part} for cpu and memory")
        ports = {p.get("name"): p.get("containerPort") for p in app.get("ports") or []}
        report.check(ports.get("http") == port, f"{where}: container port http should be {port}")
        service = resources.get("Service", {}).get(name, {})
        service_ports = [p.get("port") for p in (service.get("spec") or {}).get("ports", [])]
        report.check(service_ports == [port], f"{where}: Service should expose {port}")
        hpa = resources.get("HorizontalPodAutoscaler", {}).get(name, {})
        target = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
        report.check(target.get("kind") == "Deployment" and target.get("name") == name, f"{where}: HPA target")


def check_network(report: Report, render: str, resources: dict, base: dict) -> None:
    policies = list(resources.get("NetworkPolicy", {}).values())
    report.check(
        any(
            p["spec"].get("podSelector") in ({}, None)
            and set(p["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
            and not p["spec"].get("ingress")
            and not p["spec"].get("egress")
            for p in policies
        ),
        f"{render}: no default-deny NetworkPolicy",
    )

    def pod_labels(name: str) -> dict:
        return resources["Deployment"][name]["spec"]["template"]["metadata"]["labels"]

    def egress_peers(name: str) -> tuple[set[str], set[int]]:
        """Services reachable by pod name label, and other destination ports allowed."""
        labels = pod_labels(name)
        services, ports = set(), set()
        for policy in policies:
            spec = policy["spec"]
            if "Egress" not in spec.get("policyTypes", []) or not selects(spec.get("podSelector"), labels):
                continue
            for rule in spec.get("egress") or []:
                rule_ports = {p.get("port") for p in rule.get("ports") or []}
                for peer in rule.get("to") or []:
                    target = ((peer.get("podSelector") or {}).get("matchLabels") or {}).get(NAME_LABEL)
                    if target in SERVICES and "namespaceSelector" not in peer:
                        services.add(target)
                        report.check(
                            rule_ports == {SERVICES[target]},
                            f"{render}: egress {name} -> {target} should allow port {SERVICES[target]} only",
                        )
                    else:
                        ports |= rule_ports
        return services, ports

    def ingress_sources(name: str) -> set[str] | None:
        """Services allowed in; None when any source is allowed."""
        labels = pod_labels(name)
        sources: set[str] = set()
        for policy in policies:
            spec = policy["spec"]
            if "Ingress" not in spec.get("policyTypes", []) or not selects(spec.get("podSelector"), labels):
                continue
            for rule in spec.get("ingress") or []:
                if not rule.get("from"):
                    return None
                for peer in rule["from"]:
                    source = ((peer.get("podSelector") or {}).get("matchLabels") or {}).get(NAME_LABEL)
                    if source in SERVICES and "namespaceSelector" not in peer:
                        sources.add(source)
        return sources

    callers: dict[str, set[str]] = {name: set() for name in SERVICES}
    for name in SERVICES:
        deployment = resources.get("Deployment", {}).get(name)
        if not deployment:
            continue
        config = config_of(resources, deployment)
        expected = set()
        for key, value in config.items():
            if key.endswith("_URL") and value.startswith("http"):
                host = urlparse(value).hostname or ""
                if host in SERVICES and host != name:
                    expected.add(host)
        for callee in expected:
            callers[callee].add(name)
        allowed, other_ports = egress_peers(name)
        report.check(
            allowed == expected,
            f"{render}: {name} may call {sorted(allowed)} but its configuration names {sorted(expected)}",
        )
        uses_db = "DATABASE_URL" in secret_keys(resources, base, deployment)
        uses_kafka = "KAFKA_BROKERS" in config
        report.check((5432 in other_ports) == uses_db, f"{render}: {name} database egress should be {'allowed' if uses_db else 'denied'}")
        report.check((9092 in other_ports) == uses_kafka, f"{render}: {name} Kafka egress should be {'allowed' if uses_kafka else 'denied'}")
        report.check(53 in other_ports, f"{render}: {name} has no DNS egress")
    for name in SERVICES:
        if name not in resources.get("Deployment", {}):
            continue
        sources = ingress_sources(name)
        if name == "storefront":
            report.check(sources is None, f"{render}: storefront should accept traffic from any source")
        else:
            report.check(
                sources == callers[name],
                f"{render}: {name} accepts calls from {sorted(sources or [])}, callers are {sorted(callers[name])}",
            )


def check_provisioning(report: Report, render: str, resources: dict) -> None:
    job = resources.get("Job", {}).get("db-provision")
    if not report.check(job is not None, f"{render}: db-provision Job missing"):
        return
    pod = job["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    name = ((volumes.get("scripts") or {}).get("configMap") or {}).get("name", "")
    config_map = resources.get("ConfigMap", {}).get(name)
    if report.check(config_map is not None, f"{render}: db-provision scripts ConfigMap {name!r} not rendered"):
        data = config_map.get("data") or {}
        for key, source in (("provision.sql", "libs/shop-db/sql/provision.sql"), ("provision.sh", "deploy/postgres/provision.sh")):
            report.check(
                data.get(key) == (ROOT / source).read_text(),
                f"{render}: {key} in the ConfigMap {name} differs from {source}: run {k8s_files.SYNC_SCRIPT}",
            )
    labels = job["spec"]["template"]["metadata"]["labels"]
    report.check(labels.get("harbor-shop.io/database-client") == "true", f"{render}: db-provision cannot reach the database")


def allows(policies: list[dict], direction: str, pod: dict, peer: dict, port: int) -> bool:
    """Whether some NetworkPolicy selecting `pod` lets it talk to `peer` on `port`.

    direction "Egress": pod -> peer; "Ingress": peer -> pod. Pod and peer are label dicts;
    only same-namespace podSelector peers (or a rule without peers) count."""
    key = "to" if direction == "Egress" else "from"
    for policy in policies:
        spec = policy["spec"]
        if direction not in spec.get("policyTypes", []) or not selects(spec.get("podSelector"), pod):
            continue
        for rule in spec.get(direction.lower()) or []:
            ports = {p.get("port") for p in rule.get("ports") or []}
            if ports and port not in ports:
                continue
            peers = rule.get(key)
            if not peers or any("podSelector" in p and "namespaceSelector" not in p and selects(p["podSelector"], peer) for p in peers):
                return True
    return False


def check_observability(report: Report, render: str, resources: dict) -> None:
    deployments, services, config_maps = (resources.get(k, {}) for k in ("Deployment", "Service", "ConfigMap"))
    for name in ("prometheus", "grafana"):
        report.check(name in deployments, f"{render}: Deployment {name} missing")
    grafana, prometheus = deployments.get("grafana"), deployments.get("prometheus")
    if not grafana or not prometheus:
        return
    for name, port in (("prometheus", 9090), ("grafana", 3000)):
        ports = [p.get("port") for p in (services.get(name, {}).get("spec") or {}).get("ports", [])]
        report.check(ports == [port], f"{render}: Service {name} should expose {port}")

    # Grafana: the ConfigMaps are the files of deploy/grafana, mounted where they belong.
    pod = grafana["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    mounts = {m["mountPath"]: volumes.get(m["name"], {}) for m in pod["containers"][0].get("volumeMounts", [])}

    def mounted_config_map(path: str) -> tuple[dict, dict]:
        source = (mounts.get(path) or {}).get("configMap") or {}
        data = (config_maps.get(source.get("name", "")) or {}).get("data")
        report.check(data is not None, f"{render}: grafana has no ConfigMap mounted at {path}")
        return source, data or {}

    providers = yaml.safe_load(GRAFANA_PROVISIONING["dashboards.yaml"].read_text()).get("providers", [])
    for provider in providers:
        path = (provider.get("options") or {}).get("path")
        _, data = mounted_config_map(path)
        wanted = {f.name: f.read_text() for f in sorted((GRAFANA / "dashboards").glob("*.json"))}
        missing = sorted(set(wanted) - set(data))
        report.check(not missing, f"{render}: dashboards missing from the ConfigMap at {path}: {missing} (add them to k8s/components/observability/kustomization.yaml)")
        extra = sorted(set(data) - set(wanted))
        report.check(not extra, f"{render}: dashboards in the ConfigMap at {path} that deploy/grafana/dashboards lacks: {extra}")
        for file in sorted(set(wanted) & set(data)):
            report.check(data[file] == wanted[file], f"{render}: dashboard {file} differs from deploy/grafana/dashboards/{file}: run {k8s_files.SYNC_SCRIPT}")
    source, data = mounted_config_map("/etc/grafana/provisioning")
    items = {i["key"]: i["path"] for i in source.get("items") or []}
    for key, original in GRAFANA_PROVISIONING.items():
        expected_path = str(original.relative_to(GRAFANA / "provisioning"))
        report.check(items.get(key) == expected_path, f"{render}: grafana-provisioning key {key} should be mounted as {expected_path}")
        report.check(data.get(key) == original.read_text(), f"{render}: {key} in the ConfigMap differs from {rel(original)}: run {k8s_files.SYNC_SCRIPT}")
    # Every data source URL must name a Service of this render on that port.
    for source in yaml.safe_load(GRAFANA_PROVISIONING["datasources.yaml"].read_text()).get("datasources", []):
        url = urlparse(source.get("url", ""))
        ports = [p.get("port") for p in (services.get(url.hostname, {}).get("spec") or {}).get("ports", [])]
        message = f"{render}: Grafana data source {source.get('name')} ({source.get('url')}) has no Service {url.hostname} with port {url.port}"
        if url.port in ports:
            target = deployments.get(url.hostname) or resources.get("StatefulSet", {}).get(url.hostname)
            if target:
                report.check(
                    allows(list(resources.get("NetworkPolicy", {}).values()), "Egress", pod_labels(grafana), pod_labels(target), url.port)
                    and allows(list(resources.get("NetworkPolicy", {}).values()), "Ingress", pod_labels(target), pod_labels(grafana), url.port),
                    f"{render}: network policies do not let Grafana reach {url.hostname}:{url.port}",
                )
        elif render == "eks" and source.get("type") != "prometheus":
            report.warn(message + " (create one pointing at your trace store, docs/deploy.md)")
        else:
            report.error(message)

    # Prometheus: one job per service, discovering every pod through a headless Service.
    volumes = {v["name"]: v for v in prometheus["spec"]["template"]["spec"].get("volumes", [])}
    name = ((volumes.get("config") or {}).get("configMap") or {}).get("name", "")
    config = yaml.safe_load(((config_maps.get(name) or {}).get("data") or {}).get("prometheus.yml") or "{}") or {}
    jobs = {job["job_name"]: job for job in config.get("scrape_configs", [])}
    report.check(set(jobs) == set(SERVICES), f"{render}: Prometheus jobs {sorted(jobs)} should be the services {sorted(SERVICES)}")
    policies = list(resources.get("NetworkPolicy", {}).values())
    for service, port in SERVICES.items():
        job = jobs.get(service) or {}
        report.check(job.get("metrics_path", "/metrics") == "/metrics", f"{render}: Prometheus job {service} path")
        sd = [d for d in job.get("dns_sd_configs", [])]
        report.check(
            len(sd) == 1 and sd[0].get("type") == "A" and sd[0].get("port") == port and len(sd[0].get("names", [])) == 1,
            f"{render}: Prometheus job {service} should discover one headless Service by DNS (type A, port {port})",
        )
        if sd and sd[0].get("names"):
            headless = services.get(sd[0]["names"][0], {}).get("spec") or {}
            report.check(
                headless.get("clusterIP") == "None"
                and (headless.get("selector") or {}) == {NAME_LABEL: service}
                and [p.get("port") for p in headless.get("ports", [])] == [port],
                f"{render}: {sd[0]['names'][0]} should be a headless Service selecting the {service} pods on {port}",
            )
        deployment = deployments.get(service)
        if deployment:
            for direction, a, b in (("Egress", prometheus, deployment), ("Ingress", deployment, prometheus)):
                report.check(
                    allows(policies, direction, pod_labels(a), pod_labels(b), port),
                    f"{render}: network policies do not let Prometheus scrape {service}:{port} ({direction.lower()})",
                )


def pod_labels(workload: dict) -> dict:
    return workload["spec"]["template"]["metadata"]["labels"]


def check_namespace(report: Report, render: str, resources: dict) -> None:
    namespace = resources.get("Namespace", {}).get("harbor-shop")
    if report.check(namespace is not None, f"{render}: Namespace harbor-shop missing"):
        labels = namespace["metadata"].get("labels") or {}
        report.check(labels.get("pod-security.kubernetes.io/enforce") == "restricted", f"{render}: namespace should enforce the restricted Pod Security Standard")


SHUTDOWN_ANNOTATIONS = {
    "drain": "harbor-shop.io/shutdown-drain-seconds",
    "background": "harbor-shop.io/shutdown-background-stop-seconds",
    "telemetry": "harbor-shop.io/shutdown-telemetry-flush-seconds",
}


def check_shutdown(report: Report, render: str, resources: dict) -> None:
    """preStop + drain + background stop + span flush <= terminationGracePeriodSeconds.

    The kubelet starts the grace period when it runs preStop; SIGTERM follows the hook, and
    the service then drains requests (DRAIN_TIMEOUT), stops its relay and consumers
    (BACKGROUND_STOP_TIMEOUT) and flushes spans (5 s). Past the grace period: SIGKILL."""
    try:
        code = shutdown_seconds()
    except ValueError as error:
        report.error(str(error))
        return
    for name in SERVICES:
        deployment = resources.get("Deployment", {}).get(name)
        if not deployment:
            continue
        where = f"{render}: {name}"
        template = deployment["spec"]["template"]
        annotations = template["metadata"].get("annotations") or {}
        for key, annotation in SHUTDOWN_ANNOTATIONS.items():
            report.check(
                annotations.get(annotation) == str(code[key]),
                f"{where}: annotation {annotation} is {annotations.get(annotation)!r}, the code says {code[key]}",
            )
        pod = template["spec"]
        app = pod["containers"][0]
        sleep = (((app.get("lifecycle") or {}).get("preStop") or {}).get("sleep") or {}).get("seconds", 0)
        grace = pod.get("terminationGracePeriodSeconds", 30)
        needed = sleep + code["drain"] + code["background"] + code["telemetry"]
        report.check(
            needed <= grace,
            f"{where}: preStop {sleep}s + drain {code['drain']}s + background {code['background']}s + "
            f"span flush {code['telemetry']}s = {needed}s exceeds terminationGracePeriodSeconds {grace}",
        )
        if name == "storefront":
            report.info(
                f"{render}: shutdown preStop {sleep}s + drain {code['drain']}s + background {code['background']}s"
                f" + span flush {code['telemetry']}s = {needed}s <= grace {grace}s"
            )


def check_users_memory(report: Report, render: str, resources: dict) -> None:
    deployment = resources.get("Deployment", {}).get("users")
    if not deployment:
        return
    raw = config_of(resources, deployment).get("PASSWORD_HASH_CONCURRENCY", "2")
    concurrency = int(raw) if raw.isdigit() else 0
    report.check(concurrency >= 1, f"{render}: users PASSWORD_HASH_CONCURRENCY must be a positive integer, not {raw!r}")
    limit = (((deployment["spec"]["template"]["spec"]["containers"][0].get("resources") or {}).get("limits")) or {}).get("memory")
    needed = max(96, 16 + concurrency * 19 + 32)
    report.check(
        limit is not None and parse_bytes(limit) >= needed * 2**20,
        f"{render}: users memory limit {limit} < {needed}Mi (16 Mi + {concurrency} x 19 Mi per Argon2id hash + 32 Mi headroom, at least 96 Mi)",
    )


def check_cookies(report: Report, render: str, resources: dict) -> None:
    """minikube is plain http, so its storefront must not mark cookies Secure; everywhere
    else they must stay Secure (the code's default when COOKIE_SECURE is unset)."""
    deployment = resources.get("Deployment", {}).get("storefront")
    if not deployment:
        return
    value = config_of(resources, deployment).get("COOKIE_SECURE")
    if render == "minikube":
        report.check(value == "false", f"minikube: storefront COOKIE_SECURE is {value!r}, must be false (plain http drops Secure cookies)")
    else:
        report.check(
            value is None or value.lower() == "true",
            f"{render}: storefront COOKIE_SECURE is {value!r}: cookies must stay Secure (unset or true)",
        )


def check_copies(report: Report) -> None:
    """The files below k8s/ that kustomize reads equal their sources (deploy/lib/k8s_files.py)."""
    problems = k8s_files.drift()
    for problem in problems:
        report.error(f"copy: {problem}")
    if not problems:
        report.info(f"copies: {len(k8s_files.pairs())} files below k8s/ equal their sources")


def check_minikube(report: Report, resources: dict) -> None:
    for kind, name in (("StatefulSet", "postgres"), ("StatefulSet", "kafka"), ("Service", "postgres"), ("Service", "kafka"), ("Deployment", "jaeger")):
        report.check(name in resources.get(kind, {}), f"minikube: {kind} {name} missing")
    jaeger = resources.get("Deployment", {}).get("jaeger")
    if jaeger:
        volumes = {v["name"]: v for v in jaeger["spec"]["template"]["spec"].get("volumes", [])}
        name = ((volumes.get("config") or {}).get("configMap") or {}).get("name", "")
        data = (resources.get("ConfigMap", {}).get(name) or {}).get("data") or {}
        report.check(
            data.get("config.yaml") == JAEGER_CONFIG.read_text(),
            f"minikube: config.yaml in the ConfigMap {name!r} differs from {rel(JAEGER_CONFIG)}: run {k8s_files.SYNC_SCRIPT}",
        )
    storefront = resources.get("Service", {}).get("storefront", {}).get("spec", {})
    report.check(storefront.get("type") == "NodePort", "minikube: storefront Service should be a NodePort")
    for name, secret in resources.get("Secret", {}).items():
        values = " ".join(str(v) for v in (secret.get("stringData") or {}).values())
        report.check("REPLACE_ME" not in values, f"minikube: Secret {name} still has placeholders")


def check_eks(report: Report, resources: dict) -> None:
    report.check(not resources.get("Secret"), "eks: Secrets must not be rendered (they are created out of band)")
    report.check("StatefulSet" not in resources, "eks: no in-cluster databases or brokers")
    ingress = resources.get("Ingress", {}).get("storefront")
    if report.check(ingress is not None, "eks: storefront Ingress missing"):
        annotations = ingress["metadata"].get("annotations") or {}
        report.check(ingress["spec"].get("ingressClassName") == "alb", "eks: Ingress class should be alb")
        report.check(annotations.get("alb.ingress.kubernetes.io/target-type") == "ip", "eks: ALB target-type ip")
        report.check(annotations.get("alb.ingress.kubernetes.io/healthcheck-path") == "/health/ready", "eks: ALB health check on /health/ready")
    for name in SERVICES:
        account = resources.get("ServiceAccount", {}).get(name, {})
        arn = (account.get("metadata", {}).get("annotations") or {}).get("eks.amazonaws.com/role-arn", "")
        report.check(re.fullmatch(rf"arn:aws:iam::\d{{12}}:role/harbor-shop-{name}", arn) is not None, f"eks: {name} ServiceAccount lacks its IRSA role")
        deployment = resources.get("Deployment", {}).get(name)
        if deployment:
            spread = deployment["spec"]["template"]["spec"].get("topologySpreadConstraints") or []
            report.check(any(s.get("topologyKey") == "topology.kubernetes.io/zone" for s in spread), f"eks: {name} not spread across zones")
        hpa = resources.get("HorizontalPodAutoscaler", {}).get(name, {})
        report.check((hpa.get("spec") or {}).get("minReplicas", 0) >= 3, f"eks: {name} should keep at least 3 replicas")
    cluster = yaml.safe_load(EKSCTL.read_text())
    report.check(cluster.get("kind") == "ClusterConfig" and cluster.get("apiVersion") == "eksctl.io/v1alpha5", "eksctl: not an eksctl ClusterConfig")
    cidr = (cluster.get("vpc") or {}).get("cidr")
    blocks = {
        peer["ipBlock"]["cidr"]
        for policy in resources.get("NetworkPolicy", {}).values()
        for rule in policy["spec"].get("egress") or []
        for peer in rule.get("to") or []
        if "ipBlock" in peer
    }
    report.check(blocks == {cidr}, f"eks: NetworkPolicy CIDRs {sorted(blocks)} differ from the VPC CIDR {cidr} in eksctl-cluster.yaml")
    cni = next((a for a in cluster.get("addons", []) if a.get("name") == "vpc-cni"), {})
    report.check("enableNetworkPolicy" in str(cni.get("configurationValues", "")), "eksctl: vpc-cni must enable NetworkPolicy enforcement")
    report.check((cluster.get("iam") or {}).get("withOIDC") is True, "eksctl: IRSA needs iam.withOIDC")
    roles = {(sa.get("metadata") or {}).get("name"): sa.get("roleName") for sa in (cluster.get("iam") or {}).get("serviceAccounts", [])}
    for name in SERVICES:
        report.check(roles.get(name) == f"harbor-shop-{name}", f"eksctl: no IAM role harbor-shop-{name} for {name}")


def run() -> int:
    report = Report("kubernetes consistency")
    render_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "target/deploy-validate"
    check_copies(report)
    base = by_kind(load_yaml_documents(render_dir / "base.yaml"))
    for render in ("base", "minikube", "eks"):
        resources = by_kind(load_yaml_documents(render_dir / f"{render}.yaml"))
        count = sum(len(v) for v in resources.values())
        report.info(f"{render}: {count} resources")
        check_namespace(report, render, resources)
        check_workloads(report, render, resources)
        check_network(report, render, resources, base)
        check_provisioning(report, render, resources)
        check_cookies(report, render, resources)
        check_shutdown(report, render, resources)
        check_users_memory(report, render, resources)
        if render != "base":
            check_observability(report, render, resources)
        if render == "minikube":
            check_minikube(report, resources)
        if render == "eks":
            check_eks(report, resources)
    return report.finish()


if __name__ == "__main__":
    main_guard(run)
