"""Rules and panels select only metrics the code exports, with labels those metrics carry.

The metric families are read from the gateway, shadow and migration metric classes
themselves (each on a fresh registry), so a renamed metric or label fails here rather than
as an empty panel in production.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

import httpx
import yaml
from prometheus_client import CollectorRegistry
from prometheus_client.metrics import MetricWrapperBase

from gateway.fault_metrics import FaultCollector
from gateway.metrics import GatewayMetrics
from gateway.shadow.config import ShadowSettings
from gateway.shadow.metrics import ShadowMetrics
from gateway.shadow.sidecar_handoff import Handoff
from gateway.shadow.sidecar_process import SidecarProcess
from gateway.shadow.sidecar_wire import SidecarSpec
from gateway.state import GatewayState
from gateway.sticky_metrics import StickyKeysCollector
from migration.cluster.metrics import ClusterMetrics
from migration.decision_metrics import DecisionMetrics
from migration.metrics import MigrationMetrics
from migration.operation_metrics import OperationCollector
from migration.worker_metrics import WorkerMetrics
from tests.deploy.conftest import RULE_FILES
from tests.deploy.dashboard import checked_in, panel_queries
from tests.deploy.promql import selectors

#: Labels Prometheus attaches at scrape time (backend: the static label of the backend jobs).
TARGET_LABELS = frozenset({"job", "instance", "backend"})
#: Exported by the backends' process collector and by Prometheus itself.
EXTERNAL: dict[str, frozenset[str]] = {
    "process_resident_memory_bytes": frozenset(),
    "up": frozenset(),
}


class KeyedRoutes:
    """The two things :class:`StickyKeysCollector` reads of a gateway's state."""

    route_names = ("r",)

    def sticky_keys(self, route: str, now: float) -> int:
        return 3


def exported_series() -> dict[str, frozenset[str]]:
    """Series name -> label names, for every metric the Cutover metric classes register.

    Ordinary prometheus_client metrics are read from their declaration; the gateway's hot-path
    families come from a custom collector, which shows its label names once it has a sample, so one
    request is recorded through its public ``record()`` first.
    """
    gateway = GatewayMetrics(CollectorRegistry())
    gateway.record("r", "baseline", 200, 0.01)
    windows = MigrationMetrics()
    windows.observe("r", "baseline", 200, 0.01, None, "op")
    operations = OperationCollector(windows, 10.0)
    spec = SidecarSpec(ShadowSettings(), {}, {}, None)
    sidecar = SidecarProcess(  # the sidecar client's metrics live in its parts
        lambda: spec,
        lambda kind, payload: None,
        CollectorRegistry(),
        on_up=lambda transport: None,
        on_down=lambda: None,
    )
    http = httpx.AsyncClient()
    asyncio.run(http.aclose())  # the supervisor's scrape client; only its gauges are read here
    holders: list[Any] = [
        gateway,
        operations,
        ShadowMetrics(CollectorRegistry()),
        DecisionMetrics(CollectorRegistry()),
        sidecar,
        Handoff(CollectorRegistry()),
        ClusterMetrics(CollectorRegistry(), "r"),
        WorkerMetrics(CollectorRegistry(), 1, http),
        FaultCollector({"candidate": None}),
        StickyKeysCollector(cast(GatewayState, KeyedRoutes())),
    ]
    series: dict[str, frozenset[str]] = {}
    for holder in holders:
        if callable(getattr(holder, "collect", None)):
            for family in holder.collect():
                for sample in family.samples:
                    series[sample.name] = series.get(sample.name, frozenset()) | set(sample.labels)
        # dir(), not vars(): a mypyc-compiled class (make compile) keeps attributes in slots.
        for metric in (getattr(holder, name, None) for name in dir(holder)):
            if not isinstance(metric, MetricWrapperBase):
                continue
            # prometheus_client keeps these as private attributes; there is no public accessor.
            name, labels, kind = metric._name, frozenset(metric._labelnames), metric._type
            if kind == "counter":
                series[f"{name}_total"] = labels
            elif kind == "histogram":
                series[f"{name}_bucket"] = labels | {"le"}
                series[f"{name}_sum"] = labels
                series[f"{name}_count"] = labels
            else:
                series[name] = labels
    return series


def recorded() -> set[str]:
    names: set[str] = set()
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            names |= {rule["record"] for rule in group["rules"] if "record" in rule}
    return names


def rule_queries() -> list[tuple[str, str]]:
    found = []
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            for rule in group["rules"]:
                found.append((rule.get("record") or rule["alert"], rule["expr"]))
    return found


def check_queries(queries: list[tuple[str, str]]) -> list[str]:
    known = {**exported_series(), **EXTERNAL}
    own = recorded()
    problems = []
    for where, expr in queries:
        for selector in selectors(expr):
            if selector.name in own:
                continue
            if selector.name not in known:
                problems.append(f"{where}: unknown metric {selector.name}")
                continue
            extra = selector.labels - known[selector.name] - TARGET_LABELS
            if extra:
                problems.append(f"{where}: {selector.name} has no label(s) {sorted(extra)}")
    return problems


def test_the_metric_classes_export_the_agreed_families() -> None:
    """The families the issue names exist in code with the agreed labels."""
    series = exported_series()
    assert series["cutover_requests_total"] == {"route", "backend", "code_class"}
    assert series["cutover_request_duration_seconds_bucket"] == {"route", "backend", "le"}
    assert series["cutover_shadow_total"] == {"route", "outcome"}
    assert series["cutover_rollbacks_total"] == {"route", "reason"}
    assert series["cutover_analysis_value"] == {"route", "check", "backend"}
    assert series["cutover_state_store_errors_total"] == frozenset()
    assert series["cutover_state_store_failing"] == frozenset()
    assert series["cutover_analysis_inflight_oldest_seconds"] == {"route", "backend"}
    for name in ("cutover_config_version", "cutover_replicas", "cutover_state_store_up"):
        assert series[name] == frozenset(), name
    assert series["cutover_fail_static"] == frozenset()
    assert series["cutover_leader"] == {"replica"}
    assert series["cutover_workers"] == frozenset()
    assert series["cutover_worker_up"] == {"worker"}
    for name in ("active", "delay_seconds", "abort_ratio", "filtered"):
        assert series[f"cutover_fault_{name}"] == {"backend"}, name


def test_rules_select_only_exported_metrics_and_labels() -> None:
    """Each series a recording/alerting rule selects is exported with the labels it matches on."""
    assert check_queries(rule_queries()) == []


def test_dashboard_selects_only_exported_or_recorded_series() -> None:
    """Each panel and annotation query reads exported metrics or the repo's recording rules."""
    assert check_queries(list(panel_queries(checked_in()))) == []


def test_the_check_reports_unknown_metrics_and_labels() -> None:
    """An unknown metric or label is reported, so the empty lists above are meaningful."""
    problems = check_queries(
        [("bad", 'rate(cutover_requsts_total[1m]) + cutover_shadow_total{backend="x", path="/"}')]
    )
    assert problems == [
        "bad: unknown metric cutover_requsts_total",
        "bad: cutover_shadow_total has no label(s) ['path']",
    ]
