"""The Grafana dashboard: generated from code without drift, well
formed, every query valid PromQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from migration.state import PHASE_CODES
from tests.deploy.conftest import PrometheusServer
from tests.deploy.dashboard import DASHBOARD, checked_in, generator, panel_queries
from tests.deploy.deployfiles import DEPLOY
from tests.deploy.promql import substitute

PROVISIONING = DEPLOY / "grafana" / "provisioning"


def test_checked_in_dashboard_matches_generator() -> None:
    """The committed JSON is exactly what generate.py writes (run it after editing the code)."""
    assert DASHBOARD.read_text(encoding="utf-8") == generator().render()
    assert generator().main(["--check"]) == 0


def test_drift_check_fails_on_a_hand_edited_file(tmp_path: Path) -> None:
    """`generate.py --check` exits 1 when the file differs from the generated text."""
    edited = tmp_path / "dashboard.json"
    edited.write_text(
        generator().render().replace("Cutover migration", "Edited", 1), encoding="utf-8"
    )
    assert generator().main(["--check", "--output", str(edited)]) == 1
    assert generator().main(["--check", "--output", str(tmp_path / "missing.json")]) == 1


def test_dashboard_identity_and_schema_version() -> None:
    """Title, uid and a schemaVersion that Grafana 10.4 and 11 load without migration."""
    dashboard = checked_in()
    assert dashboard["title"] == "Cutover migration"
    assert dashboard["uid"] == "cutover-migration"
    assert dashboard["schemaVersion"] == 39


def test_route_and_backend_variables_come_from_the_request_counter() -> None:
    """Template variables route and backend list label values of cutover_requests_total."""
    variables = {v["name"]: v for v in checked_in()["templating"]["list"]}
    assert set(variables) == {"route", "backend"}
    for name, variable in variables.items():
        assert variable["query"]["query"] == f"label_values(cutover_requests_total, {name})"
        assert variable["multi"]
        assert variable["includeAll"]


def test_panels_have_unique_ids_and_do_not_overlap() -> None:
    """Every panel has its own id and a grid slot inside 24 columns that no other panel covers."""
    panels = checked_in()["panels"]
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for p in panels:
        pos = p["gridPos"]
        assert pos["x"] >= 0, p["title"]
        assert pos["x"] + pos["w"] <= 24, p["title"]
        covered = {
            (x, y)
            for x in range(pos["x"], pos["x"] + pos["w"])
            for y in range(pos["y"], pos["y"] + pos["h"])
        }
        assert not covered & cells, f"{p['title']} overlaps another panel"
        cells |= covered


def test_every_panel_uses_the_provisioned_datasource() -> None:
    """Panels, targets, variables and annotations reference the provisioned Prometheus uid."""
    provisioned = yaml.safe_load((PROVISIONING / "datasources" / "prometheus.yml").read_text())
    uid = provisioned["datasources"][0]["uid"]
    dashboard = checked_in()
    refs: list[dict[str, Any]] = [
        p["datasource"] for p in dashboard["panels"] if p["type"] != "row"
    ]
    refs += [t["datasource"] for p in dashboard["panels"] for t in p.get("targets", [])]
    refs += [v["datasource"] for v in dashboard["templating"]["list"]]
    refs += [a["datasource"] for a in dashboard["annotations"]["list"] if "expr" in a]
    assert refs
    assert all(ref == {"type": "prometheus", "uid": uid} for ref in refs)


def test_dashboard_provider_points_where_compose_mounts_the_json() -> None:
    """The file provider reads the directory docker-compose mounts deploy/grafana/dashboards on."""
    provider = yaml.safe_load((PROVISIONING / "dashboards" / "cutover.yml").read_text())[
        "providers"
    ][0]
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"./grafana/dashboards:{provider['options']['path']}:ro" in mounts


def test_dashboard_covers_the_issue_panels() -> None:
    """Weight, phase, baseline-vs-candidate, improvements, shadow, contracts, health, replicas."""
    text = "\n".join(expr for _, expr in panel_queries(checked_in()))
    for needle in [
        "cutover_candidate_weight",
        "cutover_migration_phase",
        "cutover:request_rate:rate1m",
        "cutover:error_ratio:rate1m",
        *(f"cutover:request_duration_seconds:{q}_rate1m" for q in ("p50", "p95", "p99")),
        "cutover:response_time_improvement:ratio_p95_rate1m",
        "cutover:memory_improvement:ratio",
        "cutover:throughput_ratio:rate1m",
        "cutover:shadow_match_ratio:rate1m",
        "cutover:shadow_mismatch_ratio:rate1m",
        "cutover_shadow_field_mismatches_total",
        "cutover:contract_violation_rate:rate1m",
        "cutover:backend_resident_memory_bytes:sum",
        "cutover_shadow_queue_depth",
        "cutover_shadow_dropped_total",
        "cutover:fallback_rate:rate1m",
        "changes(cutover_rollbacks_total",
        "changes(cutover_promotions_total",
        "cutover_leader",
        "cutover_config_version",
        "cutover_replicas",
        "cutover_fail_static",
        "cutover_state_store_up",
        "cutover_worker_up",
    ]:
        assert needle in text, needle


def test_phase_value_mappings_match_the_controller_codes() -> None:
    """The phase panel names each numeric code the way migration.state.PHASE_CODES defines it."""
    expected = {str(code): phase.value for phase, code in PHASE_CODES.items()}
    panel = next(p for p in checked_in()["panels"] if p["title"] == "Migration phase per route")
    options = panel["fieldConfig"]["defaults"]["mappings"][0]["options"]
    assert {code: option["text"] for code, option in options.items()} == expected


@pytest.mark.prometheus
def test_every_dashboard_query_is_valid_promql(prometheus_server: PrometheusServer) -> None:
    """Each panel and annotation query, variables substituted, is accepted by a real Prometheus."""
    queries = list(panel_queries(checked_in()))
    assert len(queries) > 20
    for title, expr in queries:
        answer = prometheus_server.query(substitute(expr))
        assert answer.status_code == 200, f"{title}: {expr}: {answer.text}"
        assert answer.json()["status"] == "success"


@pytest.mark.prometheus
def test_invalid_promql_is_rejected_by_the_server(prometheus_server: PrometheusServer) -> None:
    """The validity check above can fail: a broken expression gets 400 bad_data."""
    answer = prometheus_server.query("sum by (route (rate(cutover_requests_total[1m]))")
    assert answer.status_code == 400
    assert answer.json()["errorType"] == "bad_data"


def test_gauges_read_by_many_processes_are_aggregated() -> None:
    """A gauge each replica or worker exports is read through an aggregation, one line per route."""
    for title, expr in panel_queries(checked_in()):
        for gauge in ("cutover_candidate_weight", "cutover_migration_", "cutover_analysis_"):
            if gauge in expr:
                assert expr.startswith(("max by (", "min by (", "sum by (")), f"{title}: {expr}"


def test_annotations_mark_every_event_and_the_rollback_reason() -> None:
    """Rollbacks carry their reason kind; pause, resume, abort, completion, manual weight and fault
    changes are annotated too (issue #15)."""
    found = {a["name"]: a for a in checked_in()["annotations"]["list"] if "expr" in a}
    assert set(found) >= {
        "Rollbacks",
        "Promotions",
        "Paused",
        "Resumed",
        "Aborted",
        "Completed",
        "Manual weight",
        "Fault injected or changed",
        "Fault cleared",
    }
    rollbacks = found["Rollbacks"]
    assert "sum by (route, reason)" in rollbacks["expr"]
    assert "{{reason}}" in rollbacks["titleFormat"]
    assert rollbacks["tagKeys"] == "route,reason"
    assert "cutover_migration_phase" in found["Paused"]["expr"]
    assert "== 2" in found["Paused"]["expr"]  # PHASE_CODES[paused]
    assert "cutover_fault_active" in found["Fault cleared"]["expr"]
    assert "unless on (route)" in found["Manual weight"]["expr"]


def test_the_plan_step_counts_from_one_and_no_panel_mixes_units() -> None:
    """The step panel adds 1 (as `cutover status`); latency and rate checks get their own panels."""
    panels = {p["title"]: p for p in checked_in()["panels"]}
    assert panels["Plan step per route"]["targets"][0]["expr"].endswith(") + 1")
    latency = panels["Analysis: latency checks against threshold"]
    rates = panels["Analysis: rate checks against threshold"]
    assert latency["fieldConfig"]["defaults"]["unit"] == "s"
    assert rates["fieldConfig"]["defaults"]["unit"] == "percentunit"
    assert all('check=~"latency_p95|latency_limit"' in t["expr"] for t in latency["targets"])
    assert all('check!~"latency_p95|latency_limit|stuck"' in t["expr"] for t in rates["targets"])


def test_the_fault_panels_read_the_fault_gauges() -> None:
    """Whether a fault is on, its delay (s) and its abort share (ratio), per backend."""
    panels = {p["title"]: p for p in checked_in()["panels"]}
    assert "cutover_fault_active" in panels["Injected faults"]["targets"][0]["expr"]
    assert panels["Injected delay"]["fieldConfig"]["defaults"]["unit"] == "s"
    assert panels["Injected aborts"]["fieldConfig"]["defaults"]["unit"] == "percentunit"
