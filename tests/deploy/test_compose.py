"""docker-compose.yml: valid against the Compose Specification, and consistent with the code.

No Docker engine here, so the file is checked statically: the schema (vendored from the PyPI package
check-jsonschema 0.39.0, `check_jsonschema/builtin_schemas/vendor/compose-spec.json`, Apache-2.0,
see schemas/LICENSE.compose-spec), mount sources that exist, commands that exist, ports that agree
with the Prometheus targets and the gateway config, environment variables the settings classes read.
"""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from engine.settings import LlmstructSettings
from gateway.config import GatewaySettings, parse_config
from migration.cli.main import build_parser
from migration.cli.stack import DEFAULT_PORTS
from tests.deploy.deployfiles import (
    DEPLOY,
    LIBPQ_ENV,
    REPO,
    gateway_reads,
    option_value,
    settings_env_names,
    urls_in,
)

COMPOSE = DEPLOY / "docker-compose.yml"
SCHEMA = Path(__file__).parent / "schemas" / "compose-spec.json"
CUTOVER_IMAGE = "cutover:local"
REPLICAS = ("gateway-a", "gateway-b")
BACKENDS = {
    "fastapi-backend": ("llmstruct-fastapi", "baseline"),
    "custom-backend": ("llmstruct-custom", "candidate"),
}


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return data


def schema_errors(document: dict[str, Any]) -> list[str]:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator_cls = jsonschema.validators.validator_for(schema)
    validator = validator_cls(schema)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def cutover_services() -> dict[str, dict[str, Any]]:
    return {n: s for n, s in compose()["services"].items() if s.get("image") == CUTOVER_IMAGE}


def scrape_targets() -> dict[str, str]:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text(encoding="utf-8"))
    return {
        job["job_name"]: job["static_configs"][0]["targets"][0] for job in config["scrape_configs"]
    }


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parse configs without the developer's own CUTOVER_* variables leaking in."""
    import os

    for name in list(os.environ):
        if name.startswith(("CUTOVER_", "LLMSTRUCT_")):
            monkeypatch.delenv(name)


def test_compose_file_is_valid_against_the_compose_specification() -> None:
    """The compose file validates against the Compose Specification JSON schema."""
    assert schema_errors(compose()) == []


def test_schema_check_rejects_a_broken_service() -> None:
    """The schema check bites: an unknown service key and a wrong type are reported."""
    broken = copy.deepcopy(compose())
    broken["services"]["gateway"]["bogus"] = True
    broken["services"]["gateway"]["ports"] = "8080"
    assert len(schema_errors(broken)) >= 2


def test_compose_runs_the_whole_stack() -> None:
    """Both backends, gateway, Prometheus, Grafana; 2 replicas and PostgreSQL behind a profile."""
    services = compose()["services"]
    assert set(services) == {
        "fastapi-backend",
        "custom-backend",
        "gateway",
        "prometheus",
        "grafana",
        *REPLICAS,
        "postgres",
    }
    profiled = {name for name, service in services.items() if "profiles" in service}
    assert profiled == {*REPLICAS, "postgres"}
    assert all(services[name]["profiles"] == ["replicas"] for name in profiled)
    build = services["gateway"]["build"]
    assert (
        COMPOSE.parent / build["context"] / build["dockerfile"]
    ).resolve() == DEPLOY / "Dockerfile"


def test_every_bind_mount_source_exists() -> None:
    """Each host path a service mounts is in the repository (named volumes are declared)."""
    data = compose()
    for name, service in data["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith((".", "/")):
                assert (COMPOSE.parent / source).exists(), f"{name}: {source}"
            else:
                assert source in data["volumes"], f"{name}: undeclared volume {source}"


def test_service_commands_exist_in_the_code() -> None:
    """`python -m X` names a module with __main__; `cutover SUB` names a registered subcommand."""
    parser = build_parser()
    subcommands = next(
        a for a in parser._actions if a.dest == "command"
    ).choices  # argparse has no public accessor
    assert subcommands is not None
    for name, service in cutover_services().items():
        argv = service["command"]
        if argv[:2] == ["python", "-m"]:
            assert importlib.util.find_spec(f"{argv[2]}.__main__") is not None, f"{name}: {argv}"
        else:
            assert argv[0] == "cutover", f"{name}: {argv}"
            assert argv[1] in subcommands, f"{name}: {argv}"


def test_backend_ports_agree_with_prometheus_and_healthchecks() -> None:
    """Each backend listens where Prometheus scrapes it, exposes that port and health-checks it."""
    targets = scrape_targets()
    services = compose()["services"]
    for name, (job, _backend) in BACKENDS.items():
        port = int(option_value(services[name]["command"], "--port") or 0)
        assert targets[job] == f"{name}:{port}"
        assert services[name]["expose"] == [str(port)]
        health = list(urls_in(" ".join(services[name]["healthcheck"]["test"])))
        assert health == [("127.0.0.1", port, "/api/v1/system/health")]


def test_gateway_config_parses_and_points_at_the_backend_services(clean_env: None) -> None:
    """compose/gateway.yaml parses; its upstreams, listeners and the scrape target agree."""
    service = compose()["services"]["gateway"]
    config_mount = next(v for v in service["volumes"] if v.startswith("./compose/gateway.yaml:"))
    container_path = config_mount.split(":")[1]
    assert option_value(service["command"], "--config") == container_path
    config = parse_config((DEPLOY / "compose" / "gateway.yaml").read_text(encoding="utf-8"))
    services = compose()["services"]
    for upstream, name in (
        (config.baseline, "fastapi-backend"),
        (config.candidate, "custom-backend"),
    ):
        assert (upstream.host, upstream.port) == (
            name,
            int(option_value(services[name]["command"], "--port") or 0),
        )
    assert config.public.host == config.admin.host == "0.0.0.0"
    assert f"{config.public.port}:{config.public.port}" in service["ports"]
    assert f"127.0.0.1:{config.admin.port}:{config.admin.port}" in service["ports"]
    assert scrape_targets()["cutover-gateway"] == f"gateway:{config.admin.port}"
    health = list(urls_in(" ".join(service["healthcheck"]["test"])))
    assert health == [("127.0.0.1", config.admin.port, "/healthz")]


def test_environment_variables_are_ones_the_settings_read() -> None:
    """A service's LLMSTRUCT_*/CUTOVER_* variables are read by settings classes; others: libpq's."""
    known = settings_env_names(LlmstructSettings) | settings_env_names(GatewaySettings)
    for name, service in cutover_services().items():
        for variable, value in service.get("environment", {}).items():
            if variable in LIBPQ_ENV:
                continue
            assert variable.startswith(("LLMSTRUCT_", "CUTOVER_")), f"{name}: {variable}"
            read = variable in known or (
                variable.startswith("CUTOVER_") and gateway_reads(variable, str(value))
            )
            assert read, f"{name}: {variable} is not read by any settings class"


def test_replicas_profile_runs_two_gateways_on_one_postgres(clean_env: None) -> None:
    """gateway-a and gateway-b run the gateway's command and config on the profile's PostgreSQL."""
    services = compose()["services"]
    single = services["gateway"]
    postgres = services["postgres"]
    assert postgres["image"].startswith("postgres:16")
    assert "pg_isready" in postgres["healthcheck"]["test"]
    published = []
    for name in REPLICAS:
        replica = services[name]
        assert replica["command"] == single["command"]
        assert replica["image"] == CUTOVER_IMAGE
        assert "./compose/gateway.yaml:/etc/cutover/gateway.yaml:ro" in replica["volumes"]
        url = replica["environment"]["CUTOVER_MIGRATION__STATE_DB"]
        assert url == "postgresql://cutover@postgres:5432/cutover"  # no password in the file
        assert replica["environment"]["PGPASSWORD"].startswith("${CUTOVER_PG_PASSWORD")
        assert replica["depends_on"]["postgres"] == {"condition": "service_healthy"}
        health = list(urls_in(" ".join(replica["healthcheck"]["test"])))
        assert health == [("127.0.0.1", 8081, "/readyz")]
        published += [p.rsplit(":", 1)[0] for p in replica["ports"]]
    assert postgres["environment"]["POSTGRES_USER"] == "cutover"
    assert postgres["environment"]["POSTGRES_DB"] == "cutover"
    assert postgres["environment"]["POSTGRES_PASSWORD"].startswith("${CUTOVER_PG_PASSWORD")
    assert "ports" not in postgres  # the database stays inside the compose network
    assert len(published) == len(set(published)), "two replicas publish the same host port"


def test_no_redis_anywhere() -> None:
    """Redis was a placeholder no code used: no compose service, image, volume, Makefile package."""
    text = COMPOSE.read_text(encoding="utf-8").lower()
    assert "redis" not in text
    makefile = (REPO / "Makefile").read_text(encoding="utf-8").splitlines()
    (packages,) = [line for line in makefile if line.startswith("APT_PACKAGES :=")]
    assert "postgresql" in packages.split()
    assert not [p for p in packages.split() if "redis" in p]


def test_secrets_are_required_from_the_environment_not_written_down() -> None:
    """API key and admin token come from the caller's environment; the file holds no value."""
    services = compose()["services"]
    assert services["fastapi-backend"]["environment"]["LLMSTRUCT_API_KEY"].startswith(
        "${LLMSTRUCT_API_KEY:?"
    )
    assert services["gateway"]["environment"]["CUTOVER_ADMIN_TOKEN"].startswith(
        "${CUTOVER_ADMIN_TOKEN:?"
    )


def test_env_name_reader_sees_nested_gateway_fields() -> None:
    """The settings reader yields nested names, so the membership checks above are not vacuous."""
    names = settings_env_names(GatewaySettings)
    assert {
        "CUTOVER_ADMIN_TOKEN",
        "CUTOVER_LISTENERS__ADMIN__HOST",
        "CUTOVER_UPSTREAMS__CANDIDATE__URL",
    } <= names
    assert "CUTOVER_ADMIN_HOST" not in names
    assert "LLMSTRUCT_DATABASE" in settings_env_names(LlmstructSettings)


def test_repository_root_is_the_build_context() -> None:
    """The compose file's build context is the repository root the Dockerfile copies from."""
    context = compose()["services"]["gateway"]["build"]["context"]
    assert (COMPOSE.parent / context).resolve() == REPO


def test_ports_are_the_documented_defaults(clean_env: None) -> None:
    """Backends listen on the `cutover backend` defaults, the gateway on its config defaults."""
    services = compose()["services"]
    assert (
        int(option_value(services["fastapi-backend"]["command"], "--port") or 0)
        == DEFAULT_PORTS["fastapi"]
    )
    assert (
        int(option_value(services["custom-backend"]["command"], "--port") or 0)
        == DEFAULT_PORTS["custom"]
    )
    defaults = GatewaySettings().listeners
    config = parse_config((DEPLOY / "compose" / "gateway.yaml").read_text(encoding="utf-8"))
    assert (config.public.port, config.admin.port) == (defaults.public.port, defaults.admin.port)


def test_grafana_datasource_reaches_the_prometheus_service() -> None:
    """The provisioned datasource URL is the compose Prometheus service on its listen port."""
    datasource = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )["datasources"][0]
    assert list(urls_in(datasource["url"])) == [("prometheus", 9090, "/")]
    assert "prometheus" in compose()["services"]
    assert "127.0.0.1:9090:9090" in compose()["services"]["prometheus"]["ports"]


def test_the_admin_port_is_published_on_loopback_only(clean_env: None) -> None:
    """No service publishes the gateway admin port (or a backend) beyond the host's 127.0.0.1."""
    config = parse_config((DEPLOY / "compose" / "gateway.yaml").read_text(encoding="utf-8"))
    private = {config.admin.port, 8001, 8002}
    for name, service in compose()["services"].items():
        for mapping in service.get("ports", []):
            parts = str(mapping).split(":")
            container_port = int(parts[-1].split("/")[0])
            if container_port in private:
                assert len(parts) == 3, f"{name}: {mapping}"
                assert parts[0] == "127.0.0.1", f"{name}: {mapping}"
