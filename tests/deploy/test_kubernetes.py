"""deploy/k8s: valid against the Kubernetes schemas and wired together (selectors, ports, config, env).

Schemas: the PyPI package kubernetes-validate (1.37.0), strict mode (unknown fields are errors). The
ServiceMonitor is a Prometheus Operator CRD for which no registry package ships a JSON schema that
Python can load, so its fields are checked here against the Service and the Prometheus config.
"""

from __future__ import annotations

import copy
import os
from typing import Any

import kubernetes_validate
import pytest
import yaml

from engine.settings import LlmstructSettings
from gateway.config import GatewaySettings, parse_config
from tests.deploy.deployfiles import DEPLOY, load_yaml_documents, option_value, settings_env_names

K8S = DEPLOY / "k8s"
KUBERNETES_VERSION = "1.30"
UNSCHEMAED = {"ServiceMonitor", "Kustomization"}


def documents() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted(K8S.glob("*.yaml")):
        docs.extend(load_yaml_documents(path))
    return docs


def one(kind: str, name: str | None = None) -> dict[str, Any]:
    (doc,) = [
        d
        for d in documents()
        if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)
    ]
    return doc


def containers() -> dict[str, dict[str, Any]]:
    spec = one("Deployment")["spec"]["template"]["spec"]
    return {c["name"]: c for c in spec["containers"]}


def container_ports() -> dict[str, int]:
    return {
        p["name"]: p["containerPort"] for c in containers().values() for p in c.get("ports", [])
    }


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
    deployment = copy.deepcopy(one("Deployment"))
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_kustomization_lists_every_manifest() -> None:
    """kustomization.yaml names each manifest file of the directory, and only those."""
    kustomization = one("Kustomization")
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files


def test_services_select_the_pod_and_target_named_container_ports() -> None:
    """Both Services select the Deployment's pod labels and target ports a container declares."""
    labels = one("Deployment")["spec"]["template"]["metadata"]["labels"]
    assert one("Deployment")["spec"]["selector"]["matchLabels"].items() <= labels.items()
    ports = container_ports()
    for service in (d for d in documents() if d["kind"] == "Service"):
        assert service["spec"]["selector"].items() <= labels.items()
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in ports, f"{service['metadata']['name']}: {port}"


def test_service_monitor_scrapes_like_the_prometheus_config() -> None:
    """The ServiceMonitor selects the metrics Service, its ports, with prometheus.yml's jobs and labels."""
    monitor = one("ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    metrics = one("Service", "cutover-metrics")
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= metrics["metadata"]["labels"].items()
    )
    service_ports = {p["name"] for p in metrics["spec"]["ports"]}
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


def test_gateway_configmap_parses_and_matches_the_pod(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ConfigMap's gateway.yaml passes the gateway parser; listeners and upstreams match the pod."""
    for name in list(os.environ):
        if name.startswith("CUTOVER_"):
            monkeypatch.delenv(name)
    config = parse_config(one("ConfigMap")["data"]["gateway.yaml"])
    ports = container_ports()
    assert (config.public.port, config.admin.port) == (ports["http"], ports["admin"])
    assert (config.baseline.host, config.baseline.port) == ("127.0.0.1", ports["baseline"])
    assert (config.candidate.host, config.candidate.port) == ("127.0.0.1", ports["candidate"])
    gateway = containers()["gateway"]
    mount = next(m for m in gateway["volumeMounts"] if m["name"] == "gateway-config")
    assert option_value(gateway["command"], "--config") == f"{mount['mountPath']}/gateway.yaml"


def test_backend_commands_listen_on_their_container_ports() -> None:
    """Each backend's --port is its declared containerPort, and its probe uses that port."""
    for name in ("fastapi-backend", "custom-backend"):
        container = containers()[name]
        (port,) = container["ports"]
        assert int(option_value(container["command"], "--port") or 0) == port["containerPort"]
        assert container["readinessProbe"]["httpGet"] == {
            "path": "/api/v1/system/health",
            "port": port["name"],
        }


def test_environment_variables_are_ones_the_settings_read() -> None:
    """Every env var of every container is an LLMSTRUCT_* or CUTOVER_* field of the settings classes."""
    known = settings_env_names(LlmstructSettings) | settings_env_names(GatewaySettings)
    for name, container in containers().items():
        for variable in container.get("env", []):
            assert variable["name"] in known, f"{name}: {variable['name']}"


def test_no_secret_values_in_manifests() -> None:
    """Keys and tokens come from a Secret reference; no Secret object is committed."""
    assert not [d for d in documents() if d["kind"] == "Secret"]
    for container in containers().values():
        for variable in container.get("env", []):
            if variable["name"] in {"LLMSTRUCT_API_KEY", "CUTOVER_ADMIN_TOKEN"}:
                assert "secretKeyRef" in variable["valueFrom"]


def test_network_policy_admits_only_prometheus_to_admin_and_backends() -> None:
    """The public port is open; admin and both backends accept Prometheus only (issue #12 item 7)."""
    policy = one("NetworkPolicy")
    labels = one("Deployment")["spec"]["template"]["metadata"]["labels"]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    named = container_ports()
    rules: dict[str, list[Any]] = {}
    for rule in policy["spec"]["ingress"]:
        for port in rule["ports"]:
            assert port["port"] in named, port
            rules[port["port"]] = rule.get("from", [])
    assert set(rules) == {"http", "admin", "baseline", "candidate"}
    assert rules["http"] == []  # from anywhere
    for name in ("admin", "baseline", "candidate"):
        (peer,) = rules[name]
        assert peer["namespaceSelector"]["matchLabels"] == {
            "kubernetes.io/metadata.name": "monitoring"
        }
        assert peer["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "prometheus"}
    # Only the metrics Service exposes the admin port, and only to what the policy admits.
    exposing = [
        s["metadata"]["name"]
        for s in documents()
        if s["kind"] == "Service" and any(p["targetPort"] == "admin" for p in s["spec"]["ports"])
    ]
    assert exposing == ["cutover-metrics"]
