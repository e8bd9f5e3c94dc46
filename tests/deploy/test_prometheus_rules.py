"""The Prometheus scrape config, recording rules and alerts: promtool checks and a real server."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.conftest import PROMETHEUS_DIR, RULE_FILES, PrometheusServer

pytestmark = pytest.mark.prometheus

RULE_TESTS = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))
NEVER_EVALUATED = "0001-01-01T00:00:00Z"
REQUIRED_ALERTS = {
    "CutoverCandidateRolledBack",
    "CutoverCandidateLatencyRegression",
    "CutoverContractViolations",
    "CutoverShadowDropping",
    "CutoverGatewayDown",
    "CutoverBackendDown",
    "CutoverStateStoreFailing",
    "CutoverReplicasConfigDiverged",
    "CutoverNoLeader",
    "CutoverFailStatic",
    "CutoverStateStoreDown",
}


def run(argv: list[str], cwd: Path = PROMETHEUS_DIR) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


def rules() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            found.extend(group["rules"])
    return found


def test_scrape_config_passes_promtool(promtool: str) -> None:
    """`promtool check config` accepts prometheus.yml together with the rule files it loads."""
    result = run([promtool, "check", "config", "prometheus.yml"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 rule files found" in result.stdout


def test_rule_files_pass_promtool(promtool: str) -> None:
    """`promtool check rules` accepts the recording and alerting rules."""
    result = run([promtool, "check", "rules", *map(str, RULE_FILES)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_unit_tests_pass(promtool: str) -> None:
    """`promtool test rules` passes every unit test file under deploy/prometheus/tests."""
    assert RULE_TESTS, "no promtool unit tests found"
    result = run([promtool, "test", "rules", *map(str, RULE_TESTS)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_unit_tests_can_fail(promtool: str, tmp_path: Path) -> None:
    """A wrong expectation makes `promtool test rules` fail, so the passing run means something."""
    text = (PROMETHEUS_DIR / "tests" / "alerts_test.yml").read_text(encoding="utf-8")
    broken = text.replace("value: 0.48", "value: 0.49", 1).replace(
        "../rules/", f"{PROMETHEUS_DIR / 'rules'}/"
    )
    assert broken != text
    (tmp_path / "broken_test.yml").write_text(broken, encoding="utf-8")
    result = run([promtool, "test", "rules", "broken_test.yml"], cwd=tmp_path)
    assert result.returncode != 0
    assert "4.9E-01" in result.stdout + result.stderr


def test_every_required_alert_exists_with_severity_and_summary() -> None:
    """The issue's alerts exist, each with a severity label and summary/description annotations."""
    alerts = {r["alert"]: r for r in rules() if "alert" in r}
    assert set(alerts) >= REQUIRED_ALERTS
    for name, rule in alerts.items():
        assert rule["labels"]["severity"] in {"warning", "critical"}, name
        assert {"summary", "description"} <= set(rule["annotations"]), name


def test_recording_rule_names_follow_level_metric_operations() -> None:
    """Recorded series are named `cutover:<metric>:<operations>` and every name is unique."""
    names = [r["record"] for r in rules() if "record" in r]
    assert len(names) == len(set(names))
    for name in names:
        assert re.fullmatch(r"cutover:[a-z0-9_]+:[a-z0-9_]+", str(name)), name


def test_prometheus_config_job_names_match_alert_selectors() -> None:
    """The jobs the alerts select on are the jobs prometheus.yml defines, with backend labels."""
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text(encoding="utf-8"))
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"cutover-gateway", "llmstruct-fastapi", "llmstruct-custom"}
    labels = {
        name: job["static_configs"][0].get("labels", {}).get("backend")
        for name, job in jobs.items()
    }
    assert labels == {
        "cutover-gateway": None,
        "llmstruct-fastapi": "baseline",
        "llmstruct-custom": "candidate",
    }
    alert_text = (PROMETHEUS_DIR / "rules" / "alerts.yml").read_text(encoding="utf-8")
    assert 'job="cutover-gateway"' in alert_text


def evaluated_rules(server: PrometheusServer, timeout: float = 20.0) -> list[dict[str, object]]:
    """Poll /api/v1/rules until every rule has been evaluated once (evaluation_interval is 1s)."""
    deadline = time.monotonic() + timeout
    while True:
        body = server.client.get(f"{server.url}/api/v1/rules").json()
        loaded = [rule for group in body["data"]["groups"] for rule in group["rules"]]
        done = all(r["lastEvaluation"] != NEVER_EVALUATED for r in loaded)
        if (loaded and done) or time.monotonic() > deadline:
            return loaded
        time.sleep(0.1)


def test_real_prometheus_loads_and_evaluates_every_rule(
    prometheus_server: PrometheusServer,
) -> None:
    """A real Prometheus loads both rule files and evaluates every rule without an error."""
    expected = {str(r.get("record") or r.get("alert")) for r in rules()}
    loaded = evaluated_rules(prometheus_server)
    assert {str(r["name"]) for r in loaded} == expected
    assert all(r["lastEvaluation"] != NEVER_EVALUATED for r in loaded)
    unhealthy = {r["name"]: r.get("lastError") for r in loaded if r["health"] != "ok"}
    assert not unhealthy
