"""deploy/k8s: valid against the Kubernetes schemas and wired together (selectors, ports, config,
env).

Schemas: the PyPI package kubernetes-validate (1.37.0), strict mode (unknown fields are errors). The
ServiceMonitor is a Prometheus Operator CRD for which no registry package ships a JSON schema that
Python can load, so its fields are checked here against the Services and the Prometheus config.

The layout (issue #13 item 9): the gateway as a Deployment of three replicas with a
PodDisruptionBudget, baseline and candidate as Deployments behind their own Services, PostgreSQL by
URL from a Secret. secret.example.yaml and try-postgres.yaml are validated too but stay out of the
kustomization (deploy/ holds no secrets; the try-out database is applied on its own).
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from engine.settings import LlmstructSettings
from gateway.config import GatewaySettings, parse_config
from tests.deploy.deployfiles import (
    DEPLOY,
    gateway_reads,
    load_yaml_documents,
    option_value,
    settings_env_names,
)

K8S = DEPLOY / "k8s"
KUBERNETES_VERSION = "1.30"
UNSCHEMAED = {"ServiceMonitor", "Kustomization"}
#: Files applied on their own, never by `kubectl apply -k deploy/k8s`.
OUTSIDE_KUSTOMIZATION = {"secret.example.yaml", "try-postgres.yaml"}
PLACEHOLDER = "CHANGE-ME"
WORKLOADS = {"Deployment", "StatefulSet"}


def documents(paths: list[Path] | None = None) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in paths if paths is not None else sorted(K8S.glob("*.yaml")):
        docs.extend(load_yaml_documents(path))
    return docs


def applied() -> list[dict[str, Any]]:
    """What `kubectl apply -k deploy/k8s` creates."""
    return documents([p for p in sorted(K8S.glob("*.yaml")) if p.name not in OUTSIDE_KUSTOMIZATION])


def one(
    kind: str, name: str | None = None, docs: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    (doc,) = [
        d
        for d in (docs if docs is not None else documents())
        if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)
    ]
    return doc


def pod_labels(workload: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = workload["spec"]["template"]["metadata"]["labels"]
    return labels


def containers(workload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in workload["spec"]["template"]["spec"]["containers"]}


def container_ports(workload: dict[str, Any]) -> dict[str, int]:
    return {
        p["name"]: p["containerPort"]
        for c in containers(workload).values()
        for p in c.get("ports", [])
    }


def gateway() -> dict[str, Any]:
    return one("Deployment", "cutover-gateway")


def selected(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Whether a label selector (matchLabels and In-expressions, or a Service's map) matches."""
    match = selector.get("matchLabels", selector if "matchExpressions" not in selector else {})
    if not match.items() <= labels.items():
        return False
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In"
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


@pytest.mark.parametrize(
    "doc",
    [d for d in documents() if d["kind"] not in UNSCHEMAED],
    ids=lambda d: f"{d['kind']}/{d['metadata']['name']}",
)
def test_manifest_is_valid_against_the_kubernetes_schema(doc: dict[str, Any]) -> None:
    """Each built-in resource validates strictly against the Kubernetes 1.30 schema."""
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_strict_validation_rejects_an_unknown_field() -> None:
    """The schema check bites: a misspelt container field is an error."""
    deployment = copy.deepcopy(gateway())
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_kustomization_lists_every_manifest_but_the_example_and_the_try_out_database() -> None:
    """kustomization.yaml names each manifest in the directory but the two applied on their own."""
    kustomization = one("Kustomization")
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert files >= OUTSIDE_KUSTOMIZATION
    assert set(kustomization["resources"]) == files - OUTSIDE_KUSTOMIZATION


def test_gateway_runs_three_replicas_that_wait_for_the_first_snapshot() -> None:
    """Gateway Deployment: 3 replicas, readiness on /readyz, liveness on /healthz (admin port)."""
    deployment = gateway()
    assert deployment["spec"]["replicas"] == 3
    assert selected(deployment["spec"]["selector"], pod_labels(deployment))
    (container,) = containers(deployment).values()
    assert container["command"][:2] == ["cutover", "gateway"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "admin"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "admin"}
    rolling = deployment["spec"]["strategy"]["rollingUpdate"]
    assert rolling["maxUnavailable"] == 0


def test_gateway_workers_match_the_cpu_request() -> None:
    """CUTOVER_WORKERS is a number equal to the CPU request (auto would count the node's CPUs)."""
    (container,) = containers(gateway()).values()
    env = {v["name"]: v for v in container["env"]}
    workers = env["CUTOVER_WORKERS"]["value"]
    assert workers.isdigit()
    assert container["resources"]["requests"]["cpu"] == workers


def test_a_disruption_budget_keeps_two_gateways() -> None:
    """The PodDisruptionBudget selects exactly the gateway pods and keeps two of three."""
    budget = one("PodDisruptionBudget", docs=applied())
    assert budget["spec"]["minAvailable"] == 2
    workloads = [d for d in applied() if d["kind"] in WORKLOADS]
    chosen = [
        w["metadata"]["name"]
        for w in workloads
        if selected(budget["spec"]["selector"], pod_labels(w))
    ]
    assert chosen == ["cutover-gateway"]


def test_baseline_and_candidate_are_their_own_deployments_and_services() -> None:
    """Each backend runs alone in its Deployment, behind a Service the gateway config names."""
    for component, module, port_name in (
        ("baseline", "fastapi_backend", "baseline"),
        ("candidate", "custom_backend", "candidate"),
    ):
        deployment = one("Deployment", f"cutover-{component}")
        (container,) = containers(deployment).values()
        assert container["command"][:3] == ["python", "-m", module]
        (port,) = container["ports"]
        assert port["name"] == port_name
        assert int(option_value(container["command"], "--port") or 0) == port["containerPort"]
        for probe in ("readinessProbe", "livenessProbe"):
            assert container[probe]["httpGet"] == {
                "path": "/api/v1/system/health",
                "port": port_name,
            }
        service = one("Service", f"cutover-{component}")
        assert selected(service["spec"]["selector"], pod_labels(deployment))
        assert not selected(service["spec"]["selector"], pod_labels(gateway()))


def test_services_select_pods_that_declare_their_target_ports() -> None:
    """Each Service selects a workload, and every pod it selects declares its targetPorts."""
    workloads = [d for d in documents() if d["kind"] in WORKLOADS]
    for service in (d for d in documents() if d["kind"] == "Service"):
        name = service["metadata"]["name"]
        chosen = [w for w in workloads if selected(service["spec"]["selector"], pod_labels(w))]
        assert chosen, f"{name} selects no pod"
        for workload in chosen:
            for port in service["spec"]["ports"]:
                assert port["targetPort"] in container_ports(workload), f"{name}: {port}"


def test_service_monitor_scrapes_like_the_prometheus_config() -> None:
    """The ServiceMonitor selects the metrics Services and ports, with prometheus.yml's jobs."""
    monitor = one("ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    metrics = [
        s
        for s in applied()
        if s["kind"] == "Service"
        and selected(monitor["spec"]["selector"], s["metadata"].get("labels", {}))
    ]
    assert {s["metadata"]["name"] for s in metrics} == {
        "cutover-admin",
        "cutover-baseline",
        "cutover-candidate",
    }
    service_ports = {p["name"] for s in metrics for p in s["spec"]["ports"]}
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text(encoding="utf-8"))
    expected = {
        job["job_name"]: job["static_configs"][0].get("labels", {})
        for job in config["scrape_configs"]
    }
    seen = {}
    for endpoint in monitor["spec"]["endpoints"]:
        assert endpoint["port"] in service_ports
        assert endpoint["path"] == "/metrics"
        labels = {r["targetLabel"]: r["replacement"] for r in endpoint["relabelings"]}
        seen[labels.pop("job")] = labels
    assert seen == expected


def test_gateway_configmap_parses_and_matches_the_services(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ConfigMap's gateway.yaml parses; listeners match the pod, upstreams the backends."""
    for name in list(os.environ):
        if name.startswith("CUTOVER_"):
            monkeypatch.delenv(name)
    config = parse_config(one("ConfigMap", "cutover-gateway-config")["data"]["gateway.yaml"])
    ports = container_ports(gateway())
    assert (config.public.port, config.admin.port) == (ports["http"], ports["admin"])
    for upstream, component in ((config.baseline, "baseline"), (config.candidate, "candidate")):
        service = one("Service", f"cutover-{component}")
        (port,) = service["spec"]["ports"]
        assert (upstream.host, upstream.port) == (service["metadata"]["name"], port["port"])
    (container,) = containers(gateway()).values()
    mount = next(m for m in container["volumeMounts"] if m["name"] == "gateway-config")
    assert option_value(container["command"], "--config") == f"{mount['mountPath']}/gateway.yaml"


def test_environment_variables_are_ones_the_settings_read() -> None:
    """Every env var of a Cutover container is read by LlmstructSettings or GatewaySettings."""
    known = settings_env_names(LlmstructSettings) | settings_env_names(GatewaySettings)
    for workload in (d for d in applied() if d["kind"] in WORKLOADS):
        for name, container in containers(workload).items():
            for variable in container.get("env", []):
                var = variable["name"]
                if var in known:
                    continue
                assert var.startswith("CUTOVER_"), f"{name}: {var}"
                assert gateway_reads(var, variable.get("value", "postgresql://u@h/db")), (
                    f"{name}: {var} is not read by any settings class"
                )


def secret_refs() -> set[tuple[str, str]]:
    refs = set()
    for workload in (d for d in documents() if d["kind"] in WORKLOADS):
        for container in containers(workload).values():
            for variable in container.get("env", []):
                ref = variable.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    refs.add((ref["name"], ref["key"]))
    return refs


def test_secrets_come_from_references_and_the_example_holds_only_placeholders() -> None:
    """Keys, tokens, database URLs are secretKeyRefs; the only Secrets: the placeholder example."""
    assert not [d for d in applied() if d["kind"] == "Secret"]
    secret_env = {
        "LLMSTRUCT_API_KEY",
        "CUTOVER_ADMIN_TOKEN",
        "CUTOVER_MIGRATION__STATE_DB",
        "LLMSTRUCT_DATABASE",
        "POSTGRES_PASSWORD",
    }
    for workload in (d for d in documents() if d["kind"] in WORKLOADS):
        for container in containers(workload).values():
            for variable in container.get("env", []):
                if variable["name"] in secret_env:
                    assert "secretKeyRef" in variable["valueFrom"], variable["name"]
    examples = documents([K8S / "secret.example.yaml"])
    assert {d["kind"] for d in examples} == {"Secret"}
    for secret in examples:
        for key, value in secret["stringData"].items():
            assert PLACEHOLDER in value, f"{secret['metadata']['name']}.{key} is not a placeholder"


def test_every_secret_reference_names_a_key_of_the_example() -> None:
    """Each secretKeyRef (gateway, backends, try-out DB) names a Secret/key the example shows."""
    example = {
        (s["metadata"]["name"], key)
        for s in documents([K8S / "secret.example.yaml"])
        for key in s["stringData"]
    }
    refs = secret_refs()
    assert ("cutover-postgres", "state-db-url") in refs
    assert ("cutover-postgres", "llmstruct-database-url") in refs
    assert refs <= example, refs - example


def test_state_store_and_task_store_urls_come_from_the_postgres_secret() -> None:
    """Gateways read migration.state_db, both backends LLMSTRUCT_DATABASE, from cutover-postgres."""
    (container,) = containers(gateway()).values()
    env = {v["name"]: v for v in container["env"]}
    assert env["CUTOVER_MIGRATION__STATE_DB"]["valueFrom"]["secretKeyRef"] == {
        "name": "cutover-postgres",
        "key": "state-db-url",
    }
    for component in ("baseline", "candidate"):
        (backend,) = containers(one("Deployment", f"cutover-{component}")).values()
        env = {v["name"]: v for v in backend["env"]}
        assert env["LLMSTRUCT_DATABASE"]["valueFrom"]["secretKeyRef"] == {
            "name": "cutover-postgres",
            "key": "llmstruct-database-url",
        }


def test_try_out_postgres_is_a_statefulset_behind_the_example_urls_host() -> None:
    """try-postgres.yaml: a one-pod StatefulSet and the Service the example URLs name."""
    docs = documents([K8S / "try-postgres.yaml"])
    statefulset = one("StatefulSet", "cutover-postgres", docs)
    service = one("Service", "cutover-postgres", docs)
    assert statefulset["spec"]["replicas"] == 1
    assert selected(service["spec"]["selector"], pod_labels(statefulset))
    (container,) = containers(statefulset).values()
    assert container["image"].startswith("postgres:16")
    assert service["spec"]["ports"][0]["port"] == 5432
    for secret in documents([K8S / "secret.example.yaml"]):
        for value in secret["stringData"].values():
            if value.startswith("postgresql://"):
                assert "@cutover-postgres:5432/" in value


def test_network_policies_admit_the_right_peers() -> None:
    """Open: public port; admin: Prometheus and admin clients; backends: gateways and Prometheus."""
    policies = {p["metadata"]["name"]: p for p in applied() if p["kind"] == "NetworkPolicy"}
    assert set(policies) == {"cutover-gateway", "cutover-backends"}
    prometheus = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
    }
    gateway_policy = policies["cutover-gateway"]
    assert selected(gateway_policy["spec"]["podSelector"], pod_labels(gateway()))
    rules: dict[str, list[Any]] = {}
    for rule in gateway_policy["spec"]["ingress"]:
        for port in rule["ports"]:
            assert port["port"] in container_ports(gateway()), port
            rules[port["port"]] = rule.get("from", [])
    assert set(rules) == {"http", "admin"}
    assert rules["http"] == []  # from anywhere
    assert rules["admin"] == [
        prometheus,
        {"podSelector": {"matchLabels": {"cutover.io/admin-client": "true"}}},
    ]
    backends = policies["cutover-backends"]
    for component in ("baseline", "candidate"):
        assert selected(
            backends["spec"]["podSelector"], pod_labels(one("Deployment", f"cutover-{component}"))
        )
    assert not selected(backends["spec"]["podSelector"], pod_labels(gateway()))
    (rule,) = backends["spec"]["ingress"]
    assert {p["port"] for p in rule["ports"]} == {"baseline", "candidate"}
    assert rule["from"] == [
        {"podSelector": {"matchLabels": dict(pod_labels(gateway()))}},
        prometheus,
    ]
    # Only the admin Service exposes the admin port.
    exposing = [
        s["metadata"]["name"]
        for s in documents()
        if s["kind"] == "Service" and any(p["targetPort"] == "admin" for p in s["spec"]["ports"])
    ]
    assert exposing == ["cutover-admin"]
