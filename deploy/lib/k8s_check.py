"""Checks on the rendered Kubernetes overlays that schemas and checkov do not make.

Usage: k8s_check.py RENDER_DIR [RENDER...]   (RENDER_DIR/RENDER.yaml; default: all of
common.RENDERS: base, minikube, eks, canary, blue-green)

- Each service has its Deployment (two for recommendations in the release overlays),
  Service, PodDisruptionBudget, ServiceAccount and NetworkPolicy, and each Deployment one
  HorizontalPodAutoscaler and no fixed replicas (the canary's are fixed and have none);
  the Service selects the pods; the Deployment has startup/liveness/readiness probes on
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
  port; network policies let Prometheus scrape each service and Grafana reach Prometheus;
  Prometheus' rule_files load exactly the files of deploy/prometheus/rules, unchanged.
- Shutdown: each service's preStop sleep + drain + background stop + span flush (the
  drain and background-stop constants read from libs/shop-server, and equal to the pod
  annotations that state them) fit within terminationGracePeriodSeconds. users' memory
  limit holds PASSWORD_HASH_CONCURRENCY Argon2id hashes (19 MiB each).
- What the internet sees: the storefront serves /metrics, /ops, /docs and /openapi.json on
  its admin port only (ADMIN_LISTEN_ADDR, a container port named admin), and no
  NodePort, LoadBalancer, Ingress or any-source network rule reaches that port.
- Storefront cookies: COOKIE_SECURE=false on minikube (plain http), Secure (unset or true)
  in the base and on EKS (HTTPS at the ALB).
- Overlay specifics: minikube has Postgres and Kafka and a NodePort storefront; EKS has an
  ALB Ingress, IRSA annotations, zone spreading, at least 3 replicas, no Secret values, and
  NetworkPolicy CIDRs equal to the VPC CIDR in eksctl-cluster.yaml.
- Release overlays (minikube underneath, so minikube's rules too): exactly two
  recommendations Deployments, each selecting only its own pods, with the same pod
  template apart from their distinguishing label, version label and env, both covered by
  the PodDisruptionBudget, the NetworkPolicy and Prometheus' headless Service. canary: the
  recommendations Service selects both, replicas v1:v2 = 9:1, no autoscaler, each runs the
  RECOMMENDATIONS_VERSION of its version label (v2 = v2). blue-green: colours blue and
  green, each with its autoscaler; the Service selects exactly one.
"""

from __future__ import annotations

import copy
import fnmatch
import re
import sys
from pathlib import Path
from urllib.parse import urlparse

import yaml

import k8s_files
from common import (
    ADMIN_PORTS,
    NAME_LABEL,
    ROOT,
    SERVICES,
    Report,
    load_yaml_documents,
    main_guard,
    metrics_port,
    parse_bytes,
    rel,
    renders_from,
    service_deployments,
    shutdown_seconds,
)

EKSCTL = ROOT / "k8s/overlays/eks/eksctl-cluster.yaml"
JAEGER_CONFIG = ROOT / "deploy/jaeger/config.yaml"
GRAFANA = ROOT / "deploy/grafana"
GRAFANA_PROVISIONING = {
    "datasources.yaml": GRAFANA / "provisioning/datasources/datasources.yaml",
    "dashboards.yaml": GRAFANA / "provisioning/dashboards/dashboards.yaml",
}
PROMETHEUS_RULES = ROOT / "deploy/prometheus/rules"
VERSION_LABEL = "app.kubernetes.io/version"
COLOR_LABEL = "harbor-shop.io/color"
# minikube and the release overlays built on it (k8s/overlays/canary, blue-green).
MINIKUBE_BASED = ("minikube", "canary", "blue-green")
# The canary's split: replicas of v1 and v2.
CANARY_REPLICAS = {"v1": 9, "v2": 1}


def by_kind(documents: list[dict]) -> dict[str, dict[str, dict]]:
    result: dict[str, dict[str, dict]] = {}
    for doc in documents:
        result.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    return result


def config_of(resources: dict, deployment: dict) -> dict[str, str]:
    """The env values a Deployment's app container gets from its ConfigMaps."""
    app = deployment["spec"]["template"]["spec"]["containers"][0]
    values: dict[str, str] = {}
    for source in app.get("envFrom") or []:
        ref = (source.get("configMapRef") or {}).get("name")
        if ref and ref in resources.get("ConfigMap", {}):
            values.update(resources["ConfigMap"][ref].get("data") or {})
    # `env` wins over `envFrom`, as in the kubelet.
    values.update({e["name"]: e.get("value", "") for e in app.get("env") or [] if "value" in e})
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


def autoscalers_of(resources: dict, deployment: dict) -> list[dict]:
    return [
        hpa
        for hpa in resources.get("HorizontalPodAutoscaler", {}).values()
        if ((hpa.get("spec") or {}).get("scaleTargetRef") or {}).get("kind") == "Deployment"
        and hpa["spec"]["scaleTargetRef"].get("name") == deployment["metadata"]["name"]
    ]


def service_selects(service: dict, deployment: dict) -> bool:
    """Whether a Service's selector (plain labels) picks the Deployment's pods."""
    selector = (service.get("spec") or {}).get("selector") or {}
    return bool(selector) and selects({"matchLabels": selector}, pod_labels(deployment))


def check_workloads(report: Report, render: str, resources: dict) -> None:
    for name, port in SERVICES.items():
        for kind in ("Service", "PodDisruptionBudget", "ServiceAccount", "NetworkPolicy"):
            report.check(name in resources.get(kind, {}), f"{render}: {kind} {name} missing")
        deployments = service_deployments(resources.get("Deployment", {}), name)
        report.check(bool(deployments), f"{render}: Deployment {name} missing")
        for deployment in deployments:
            check_workload(report, render, resources, name, port, deployment)


def check_workload(report: Report, render: str, resources: dict, name: str, port: int, deployment: dict) -> None:
    pod = deployment["spec"]["template"]["spec"]
    app = pod["containers"][0]
    where = f"{render}: {deployment['metadata']['name']}"
    # A fixed replica count and an autoscaler fight over spec.replicas. Only the
    # canary's split is fixed (see k8s/overlays/canary/kustomization.yaml).
    hpas = autoscalers_of(resources, deployment)
    if render == "canary" and name == "recommendations":
        report.check(not hpas, f"{where}: an HPA scales it, which breaks the canary's fixed split")
        report.check(isinstance(deployment["spec"].get("replicas"), int), f"{where}: the canary split needs fixed replicas")
    else:
        report.check(len(hpas) == 1, f"{where}: should have one HorizontalPodAutoscaler, has {len(hpas)}")
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
    # Blue-green's idle colour is deliberately not selected (check_blue_green).
    if not (render == "blue-green" and name == "recommendations"):
        report.check(
            service_selects(service, deployment),
            f"{where}: the Service {name} does not select its pods",
        )
    report.check(
        selects(deployment["spec"].get("selector"), deployment["spec"]["template"]["metadata"]["labels"]),
        f"{where}: its selector does not match its own pod template",
    )


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

    def egress_peers(name: str, labels: dict) -> tuple[set[str], set[int]]:
        """Services reachable by pod name label, and other destination ports allowed."""
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

    def ingress_sources(labels: dict) -> set[str] | None:
        """Services allowed in; None when any source is allowed."""
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
    deployments = resources.get("Deployment", {})
    for name, deployment in ((n, d) for n in SERVICES for d in service_deployments(deployments, n)):
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        config = config_of(resources, deployment)
        expected = set()
        for key, value in config.items():
            if key.endswith("_URL") and value.startswith("http"):
                host = urlparse(value).hostname or ""
                if host in SERVICES and host != name:
                    expected.add(host)
        for callee in expected:
            callers[callee].add(name)
        allowed, other_ports = egress_peers(name, labels)
        report.check(
            allowed == expected,
            f"{render}: {name} may call {sorted(allowed)} but its configuration names {sorted(expected)}",
        )
        uses_db = "DATABASE_URL" in secret_keys(resources, base, deployment)
        uses_kafka = "KAFKA_BROKERS" in config
        report.check((5432 in other_ports) == uses_db, f"{render}: {name} database egress should be {'allowed' if uses_db else 'denied'}")
        report.check((9092 in other_ports) == uses_kafka, f"{render}: {name} Kafka egress should be {'allowed' if uses_kafka else 'denied'}")
        report.check(53 in other_ports, f"{render}: {name} has no DNS egress")
    for name, deployment in ((n, d) for n in SERVICES for d in service_deployments(deployments, n)):
        sources = ingress_sources(deployment["spec"]["template"]["metadata"]["labels"])
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
    files = prometheus_files(report, render, prometheus, config_maps)
    config = yaml.safe_load(files.get("/etc/prometheus/prometheus.yml") or "{}") or {}
    check_prometheus_rules(report, render, config, files)
    jobs = {job["job_name"]: job for job in config.get("scrape_configs", [])}
    report.check(set(jobs) == set(SERVICES), f"{render}: Prometheus jobs {sorted(jobs)} should be the services {sorted(SERVICES)}")
    policies = list(resources.get("NetworkPolicy", {}).values())
    for service in SERVICES:
        port = metrics_port(service)
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
        for deployment in service_deployments(deployments, service):
            for direction, a, b in (("Egress", prometheus, deployment), ("Ingress", deployment, prometheus)):
                report.check(
                    allows(policies, direction, pod_labels(a), pod_labels(b), port),
                    f"{render}: network policies do not let Prometheus scrape {service}:{port} ({direction.lower()})",
                )


def pod_labels(workload: dict) -> dict:
    return workload["spec"]["template"]["metadata"]["labels"]


def prometheus_files(report: Report, render: str, prometheus: dict, config_maps: dict) -> dict[str, str]:
    """path -> content of every file the Prometheus container sees from ConfigMaps (plain
    and projected volumes, with or without items)."""
    pod = prometheus["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    files: dict[str, str] = {}
    for mount in pod["containers"][0].get("volumeMounts", []):
        volume = volumes.get(mount["name"]) or {}
        sources = [volume["configMap"]] if "configMap" in volume else [
            s["configMap"] for s in (volume.get("projected") or {}).get("sources", []) if "configMap" in s
        ]
        for source in sources:
            config_map = config_maps.get(source.get("name", ""))
            if not report.check(config_map is not None, f"{render}: prometheus mounts ConfigMap {source.get('name')!r}, which is not rendered"):
                continue
            data = config_map.get("data") or {}
            items = source.get("items") or [{"key": key, "path": key} for key in data]
            for item in items:
                report.check(item["key"] in data, f"{render}: prometheus mounts key {item['key']} missing from ConfigMap {source.get('name')}")
                files[f"{mount['mountPath'].rstrip('/')}/{item['path']}"] = data.get(item["key"], "")
    return files


def check_prometheus_rules(report: Report, render: str, config: dict, files: dict[str, str]) -> None:
    """rule_files load exactly the files of deploy/prometheus/rules, unchanged."""
    patterns = config.get("rule_files") or []
    loaded = {path: text for path, text in files.items() if any(fnmatch.fnmatchcase(path, p) for p in patterns)}
    wanted = {path.name: path.read_text() for path in sorted(PROMETHEUS_RULES.glob("*.yml"))}
    names = {path.rsplit("/", 1)[-1]: text for path, text in loaded.items()}
    report.check(
        set(names) == set(wanted),
        f"{render}: Prometheus loads rule files {sorted(names)} ({patterns}), deploy/prometheus/rules has {sorted(wanted)}"
        " (list new ones in k8s/components/observability: kustomization.yaml and prometheus.yaml)",
    )
    for name in sorted(set(names) & set(wanted)):
        report.check(names[name] == wanted[name], f"{render}: rules {name} differ from deploy/prometheus/rules/{name}: run {k8s_files.SYNC_SCRIPT}")


def template_without(deployment: dict, labels: tuple[str, ...]) -> dict:
    """The pod template minus the given labels and the app container's env: what must be
    equal between the two Deployments of a release (the same service, complete)."""
    template = copy.deepcopy(deployment["spec"]["template"])
    for label in labels:
        template["metadata"]["labels"].pop(label, None)
    template["spec"]["containers"][0].pop("env", None)
    return template


def check_release_pair(report: Report, render: str, resources: dict, label: str, values: set[str]) -> list[dict]:
    """What canary and blue-green share: exactly two recommendations Deployments, told
    apart by `label` (values `values`), each selecting only its own pods, the same pod
    template apart from that label, the version label and env, both covered by the
    PodDisruptionBudget, the NetworkPolicy and Prometheus' headless Service."""
    pair = service_deployments(resources.get("Deployment", {}), "recommendations")
    names = [d["metadata"]["name"] for d in pair]
    if not report.check(len(pair) == 2, f"{render}: should have exactly two recommendations Deployments, has {names}"):
        return []
    found = {pod_labels(d).get(label) for d in pair}
    report.check(found == values, f"{render}: recommendations Deployments labelled {label}={sorted(map(str, found))}, should be {sorted(values)}")
    for deployment in pair:
        other = next(d for d in pair if d is not deployment)
        selector = deployment["spec"].get("selector")
        report.check(
            (selector.get("matchLabels") or {}).get(label) == pod_labels(deployment).get(label)
            and not selects(selector, pod_labels(other)),
            f"{render}: {deployment['metadata']['name']}'s selector {selector} also matches "
            f"{other['metadata']['name']}'s pods (it must name its {label})",
        )
    ignored = tuple(sorted({label, VERSION_LABEL}))
    report.check(
        template_without(pair[0], ignored) == template_without(pair[1], ignored),
        f"{render}: the pod templates of {names[0]} and {names[1]} differ beyond the labels {', '.join(ignored)} and env:"
        " both should be the complete recommendations Deployment",
    )
    for kind, name in (("PodDisruptionBudget", "recommendations"), ("NetworkPolicy", "recommendations")):
        spec = (resources.get(kind, {}).get(name) or {}).get("spec") or {}
        selector = spec.get("selector") if kind == "PodDisruptionBudget" else spec.get("podSelector")
        report.check(all(selects(selector, pod_labels(d)) for d in pair), f"{render}: {kind} {name} should cover both {names}")
    metrics = resources.get("Service", {}).get("recommendations-metrics")
    if metrics is not None:
        report.check(all(service_selects(metrics, d) for d in pair), f"{render}: Prometheus' recommendations-metrics should scrape both {names}")
    return pair


def check_canary(report: Report, resources: dict) -> None:
    """Two versions behind the one Service, split 9:1 by replicas, v2 configured as v2."""
    pair = check_release_pair(report, "canary", resources, VERSION_LABEL, set(CANARY_REPLICAS))
    if not pair:
        return
    service = resources.get("Service", {}).get("recommendations", {})
    replicas = {}
    for deployment in pair:
        name, version = deployment["metadata"]["name"], pod_labels(deployment).get(VERSION_LABEL)
        report.check(service_selects(service, deployment), f"canary: the Service recommendations does not select {name}'s pods")
        configured = config_of(resources, deployment).get("RECOMMENDATIONS_VERSION")
        report.check(configured == version, f"canary: {name} is labelled {version} but runs RECOMMENDATIONS_VERSION={configured}")
        replicas[version] = deployment["spec"].get("replicas")
    report.check(replicas == CANARY_REPLICAS, f"canary: replicas per version {replicas}, the split should be {CANARY_REPLICAS} (9:1)")
    report.info(f"canary: {', '.join(f'{v} x{n}' for v, n in sorted(replicas.items()))} behind Service recommendations")


def check_blue_green(report: Report, resources: dict) -> None:
    """Two complete colours, each autoscaled; the Service selects exactly one."""
    pair = check_release_pair(report, "blue-green", resources, COLOR_LABEL, {"blue", "green"})
    if not pair:
        return
    service = resources.get("Service", {}).get("recommendations", {})
    live = [d for d in pair if service_selects(service, d)]
    report.check(
        len(live) == 1,
        f"blue-green: the Service recommendations (selector {(service.get('spec') or {}).get('selector')}) selects "
        f"{[d['metadata']['name'] for d in live]}: it must select exactly one colour",
    )
    for deployment in pair:
        configured = config_of(resources, deployment).get("RECOMMENDATIONS_VERSION")
        report.check(
            configured == pod_labels(deployment).get(VERSION_LABEL),
            f"blue-green: {deployment['metadata']['name']} is labelled {pod_labels(deployment).get(VERSION_LABEL)} but runs RECOMMENDATIONS_VERSION={configured}",
        )
    if len(live) == 1:
        report.info(f"blue-green: live {pod_labels(live[0]).get(COLOR_LABEL)} ({live[0]['metadata']['name']}), idle "
                    f"{[pod_labels(d).get(COLOR_LABEL) for d in pair if d is not live[0]][0]}")


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
    for name, deployment in ((n, d) for n in SERVICES for d in service_deployments(resources.get("Deployment", {}), n)):
        where = f"{render}: {deployment['metadata']['name']}"
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
    if render in MINIKUBE_BASED:
        report.check(value == "false", f"{render}: storefront COOKIE_SECURE is {value!r}, must be false (plain http drops Secure cookies)")
    else:
        report.check(
            value is None or value.lower() == "true",
            f"{render}: storefront COOKIE_SECURE is {value!r}: cookies must stay Secure (unset or true)",
        )


def check_public_exposure(report: Report, render: str, resources: dict) -> None:
    """The operator's port of a service (ADMIN_PORTS) is reachable from inside the cluster
    only: the service listens there for its admin paths, and nothing that faces the
    internet (a NodePort or LoadBalancer Service, an Ingress backend, a network rule open
    to any source) leads to it."""
    services = resources.get("Service", {})
    for name, admin_port in ADMIN_PORTS.items():
        for deployment in service_deployments(resources.get("Deployment", {}), name):
            where = f"{render}: {deployment['metadata']['name']}"
            app = deployment["spec"]["template"]["spec"]["containers"][0]
            ports = {p.get("name"): p.get("containerPort") for p in app.get("ports") or []}
            report.check(ports.get("admin") == admin_port, f"{where}: container port admin should be {admin_port}")
            listen = config_of(resources, deployment).get("ADMIN_LISTEN_ADDR", "")
            report.check(
                listen.rsplit(":", 1)[-1] == str(admin_port),
                f"{where}: ADMIN_LISTEN_ADDR is {listen!r}: without it /metrics, /ops and /docs are on the public port",
            )
            labels = deployment["spec"]["template"]["metadata"]["labels"]
            exposed_ports = {}
            for service_name, service in services.items():
                spec = service.get("spec") or {}
                if not selects({"matchLabels": spec.get("selector") or {}}, labels):
                    continue
                for port in spec.get("ports", []):
                    exposed_ports[(service_name, port.get("port"))] = port.get("targetPort") in ("admin", admin_port)
                    if port.get("targetPort") in ("admin", admin_port):
                        report.check(
                            spec.get("type", "ClusterIP") == "ClusterIP",
                            f"{render}: Service {service_name} exposes {name}'s admin port as {spec.get('type')}",
                        )
            for ingress_name, ingress in resources.get("Ingress", {}).items():
                backends = [
                    (path.get("backend") or {}).get("service") or {}
                    for rule in (ingress.get("spec") or {}).get("rules") or []
                    for path in (rule.get("http") or {}).get("paths") or []
                ]
                default = ((ingress.get("spec") or {}).get("defaultBackend") or {}).get("service")
                for backend in backends + ([default] if default else []):
                    port = backend.get("port") or {}
                    key = (backend.get("name"), port.get("number"))
                    named = next(
                        (is_admin for (svc, _), is_admin in exposed_ports.items() if svc == backend.get("name") and port.get("name") == "admin"),
                        False,
                    )
                    report.check(
                        not exposed_ports.get(key, False) and not named,
                        f"{render}: Ingress {ingress_name} leads to {name}'s admin port",
                    )
            for policy in resources.get("NetworkPolicy", {}).values():
                spec = policy["spec"]
                if "Ingress" not in spec.get("policyTypes", []) or not selects(spec.get("podSelector"), labels):
                    continue
                for rule in spec.get("ingress") or []:
                    rule_ports = {p.get("port") for p in rule.get("ports") or []}
                    report.check(
                        bool(rule.get("from")) or (rule_ports and admin_port not in rule_ports and "admin" not in rule_ports),
                        f"{render}: NetworkPolicy {policy['metadata']['name']} lets any source reach {name}'s admin port",
                    )


def check_copies(report: Report) -> None:
    """The files below k8s/ that kustomize reads equal their sources (deploy/lib/k8s_files.py)."""
    problems = k8s_files.drift()
    for problem in problems:
        report.error(f"copy: {problem}")
    if not problems:
        report.info(f"copies: {len(k8s_files.pairs())} files below k8s/ equal their sources")


def check_minikube(report: Report, render: str, resources: dict) -> None:
    """minikube and the release overlays built on it."""
    for kind, name in (("StatefulSet", "postgres"), ("StatefulSet", "kafka"), ("Service", "postgres"), ("Service", "kafka"), ("Deployment", "jaeger")):
        report.check(name in resources.get(kind, {}), f"{render}: {kind} {name} missing")
    jaeger = resources.get("Deployment", {}).get("jaeger")
    if jaeger:
        volumes = {v["name"]: v for v in jaeger["spec"]["template"]["spec"].get("volumes", [])}
        name = ((volumes.get("config") or {}).get("configMap") or {}).get("name", "")
        data = (resources.get("ConfigMap", {}).get(name) or {}).get("data") or {}
        report.check(
            data.get("config.yaml") == JAEGER_CONFIG.read_text(),
            f"{render}: config.yaml in the ConfigMap {name!r} differs from {rel(JAEGER_CONFIG)}: run {k8s_files.SYNC_SCRIPT}",
        )
    storefront = resources.get("Service", {}).get("storefront", {}).get("spec", {})
    report.check(storefront.get("type") == "NodePort", f"{render}: storefront Service should be a NodePort")
    for name, secret in resources.get("Secret", {}).items():
        values = " ".join(str(v) for v in (secret.get("stringData") or {}).values())
        report.check("REPLACE_ME" not in values, f"{render}: Secret {name} still has placeholders")


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
    for render in renders_from(sys.argv):
        resources = by_kind(load_yaml_documents(render_dir / f"{render}.yaml"))
        count = sum(len(v) for v in resources.values())
        report.info(f"{render}: {count} resources")
        check_namespace(report, render, resources)
        check_workloads(report, render, resources)
        check_network(report, render, resources, base)
        check_provisioning(report, render, resources)
        check_cookies(report, render, resources)
        check_public_exposure(report, render, resources)
        check_shutdown(report, render, resources)
        check_users_memory(report, render, resources)
        if render != "base":
            check_observability(report, render, resources)
        if render in MINIKUBE_BASED:
            check_minikube(report, render, resources)
        if render == "eks":
            check_eks(report, resources)
        if render == "canary":
            check_canary(report, resources)
        if render == "blue-green":
            check_blue_green(report, resources)
    return report.finish()


if __name__ == "__main__":
    main_guard(run)
