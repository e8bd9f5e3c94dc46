"""Generate the "Cutover migration" Grafana dashboard from code.

The checked-in ``dashboards/cutover-migration.json`` is this script's output. Writing the dashboard
as code keeps panel layout, datasource references and PromQL in one reviewable place; the drift
check (``python deploy/grafana/generate.py --check``, also run by ``tests/deploy``) fails when
someone edits one without the other.

Panels read the recording rules of ``deploy/prometheus/rules/recording.yml`` where one exists, so
the dashboard and the alerts agree on what "p95" or "error ratio" mean.

With gateway replicas and workers (issue #13) one gauge comes from several processes: each
replica is its own scrape target and each worker's series carry a ``worker`` label. Gauges that
every process holds alike (weight, phase, step) or that one controller computes (the analysis
inputs) are therefore read with ``max by`` their own labels, one line per route whatever the
number of processes; where replicas disagree, the "Replicas" row shows it by config version.
Rollbacks and promotions are Prometheus-backed annotations. A counter that the gateway creates on
its first increment starts at 1, which ``changes()`` cannot see, so each annotation also marks a
series that is new in its window.

Annotations (issue #15) mark every event that moves a migration, from metrics with bounded labels:
a rollback carries its reason *kind* (the failing check, ``manual`` or ``abort``: the
``reason`` label of ``cutover_rollbacks_total``); pause, resume, abort and completion are the phase
gauge entering that phase; a manual weight is the weight changing with no promotion or rollback
counted in the same step; a fault is ``cutover_fault_active`` turning on or off, or its delay or
abort share changing. Free-text reasons (an operator's ``--reason``) stay out of Prometheus — they
would be unbounded label values — so those annotations point at ``cutover events``.

Units: one panel, one unit. The analysis inputs are split by what they measure — latency checks
in seconds, rate checks as ratios, stuck attempts as counts — and the plan step is shown counted
from 1, as ``cutover status`` counts it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

Json = dict[str, Any]

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "dashboards" / "cutover-migration.json"

#: Must match provisioning/datasources/prometheus.yml.
DATASOURCE: Json = {"type": "prometheus", "uid": "cutover-prometheus"}
#: Grafana 10.4 and 11.0 both write this version; newer 11.x migrate it on load without changes.
SCHEMA_VERSION = 39
ROUTE = 'route=~"$route"'
BACKEND = 'backend=~"$backend"'
BACKEND_COLORS = {"baseline": "blue", "candidate": "orange"}
#: Checks whose values are seconds (migration/verdict.py CHECKS); the others are ratios or counts.
LATENCY_CHECKS = "latency_p95|latency_limit"
#: ``cutover_migration_phase`` codes in order (migration/state.py PHASE_CODES; the tests compare).
PHASES = ("pending", "running", "paused", "awaiting_gate", "rolled_back", "completed", "aborted")


class Layout:
    """Hands out grid positions left to right, wrapping at Grafana's 24 columns."""

    def __init__(self) -> None:
        self.x = 0
        self.y = 0
        self.row_height = 0
        self.next_id = 1

    def place(self, width: int, height: int) -> tuple[int, Json]:
        if self.x + width > 24:
            self.newline()
        pos = {"h": height, "w": width, "x": self.x, "y": self.y}
        self.x += width
        self.row_height = max(self.row_height, height)
        panel_id = self.next_id
        self.next_id += 1
        return panel_id, pos

    def newline(self) -> None:
        self.y += self.row_height
        self.x = 0
        self.row_height = 0


def target(expr: str, legend: str, ref: str = "A", instant: bool = False) -> Json:
    """One PromQL query of a panel."""
    return {
        "datasource": DATASOURCE,
        "editorMode": "code",
        "expr": expr,
        "instant": instant,
        "legendFormat": legend,
        "range": not instant,
        "refId": ref,
    }


def backend_overrides() -> list[Json]:
    """Fixed colours so baseline and candidate look the same on every panel."""
    return [
        {
            "matcher": {"id": "byRegexp", "options": f".*{name}.*"},
            "properties": [{"id": "color", "value": {"fixedColor": color, "mode": "fixed"}}],
        }
        for name, color in BACKEND_COLORS.items()
    ]


def panel(
    layout: Layout,
    title: str,
    targets: list[Json],
    *,
    kind: str = "timeseries",
    unit: str = "short",
    width: int = 8,
    height: int = 8,
    description: str = "",
    defaults: Json | None = None,
    overrides: list[Json] | None = None,
    options: Json | None = None,
) -> Json:
    """A panel of ``kind`` at the next free grid slot."""
    panel_id, pos = layout.place(width, height)
    refs = "ABCDEFGH"
    return {
        "datasource": DATASOURCE,
        "description": description,
        "fieldConfig": {
            "defaults": {"unit": unit, **(defaults or {})},
            "overrides": overrides or [],
        },
        "gridPos": pos,
        "id": panel_id,
        "options": options or {"legend": {"displayMode": "list", "placement": "bottom"}},
        "targets": [{**t, "refId": refs[i]} for i, t in enumerate(targets)],
        "title": title,
        "type": kind,
    }


def row(layout: Layout, title: str) -> Json:
    """A full-width row header."""
    layout.newline()
    panel_id, pos = layout.place(24, 1)
    layout.newline()
    return {
        "collapsed": False,
        "gridPos": pos,
        "id": panel_id,
        "panels": [],
        "title": title,
        "type": "row",
    }


def phase_mappings() -> list[Json]:
    """Value mappings that name the numeric ``cutover_migration_phase`` codes."""
    colors = {"rolled_back": "red", "completed": "green", "aborted": "dark-red", "running": "blue"}
    return [
        {
            "options": {
                str(code): {"color": colors.get(name, "text"), "index": code, "text": name}
                for code, name in enumerate(PHASES)
            },
            "type": "value",
        }
    ]


def rollout_panels(layout: Layout) -> list[Json]:
    return [
        row(layout, "Rollout"),
        panel(
            layout,
            "Candidate weight per route",
            [target(f"max by (route) (cutover_candidate_weight{{{ROUTE}}})", "{{route}}")],
            unit="percentunit",
            defaults={"min": 0, "max": 1},
            description="Share of each route's traffic the gateway sends to the candidate.",
        ),
        panel(
            layout,
            "Weight against the observed candidate share",
            [
                target(f"max by (route) (cutover_candidate_weight{{{ROUTE}}})", "weight {{route}}"),
                target(
                    f'sum by (route) (cutover:request_rate:rate1m{{{ROUTE}, backend="candidate"}})'
                    f" / sum by (route) (cutover:request_rate:rate1m{{{ROUTE}}})",
                    "observed {{route}}",
                    "B",
                ),
            ],
            unit="percentunit",
            defaults={"min": 0, "max": 1},
            description="The weight next to the candidate's share of the route's upstream attempts "
            "(1 min): the split is sticky per client key, so with few keys the two differ "
            "(share_mismatch).",
        ),
        panel(
            layout,
            "Distinct sticky keys per route",
            [target(f"max by (route) (cutover_route_sticky_keys{{{ROUTE}}})", "{{route}}")],
            defaults={"decimals": 0, "min": 0},
            description="Distinct sticky keys (API key, Authorization, client address) the split "
            "saw in the last one to two minutes; counted only while the weight splits. One key "
            "moves all of its traffic at once.",
        ),
        panel(
            layout,
            "Migration phase per route",
            [target(f"max by (route) (cutover_migration_phase{{{ROUTE}}})", "{{route}}")],
            kind="state-timeline",
            defaults={"mappings": phase_mappings()},
            options={"showValue": "auto", "mergeValues": True},
            description="Phase of each route's migration (pending, running, ... rolled_back).",
        ),
        panel(
            layout,
            "Plan step per route",
            [target(f"max by (route) (cutover_migration_step{{{ROUTE}}}) + 1", "{{route}}")],
            defaults={"decimals": 0, "min": 1},
            description="Plan step each route is on, counted from 1 as `cutover status` does.",
        ),
        analysis_panel(
            layout,
            "Analysis: latency checks against threshold",
            f'check=~"{LATENCY_CHECKS}"',
            "s",
            "Latency checks (p95 against the baseline's, the absolute limit), in seconds.",
        ),
        analysis_panel(
            layout,
            "Analysis: rate checks against threshold",
            f'check!~"{LATENCY_CHECKS}|stuck"',
            "percentunit",
            "Error rates, contract violations, shadow mismatches, unreachable share and the "
            "sequential tests' differences, as ratios.",
        ),
        panel(
            layout,
            "Analysis samples and stuck attempts",
            [
                target(
                    f"max by (route, backend) (cutover_analysis_samples{{{ROUTE}, {BACKEND}}})",
                    "{{backend}} {{route}}",
                ),
                target(
                    f'max by (route) (cutover_analysis_value{{{ROUTE}, check="stuck"}})',
                    "stuck candidate attempts {{route}}",
                ),
            ],
            overrides=backend_overrides(),
            description="Requests in the analysis window (too few make a check inconclusive) and "
            "candidate attempts stuck past the latency limit.",
        ),
        *fault_panels(layout),
    ]


def analysis_panel(layout: Layout, title: str, checks: str, unit: str, description: str) -> Json:
    """The analysis inputs of the checks ``checks`` selects, in one unit, against thresholds."""
    return panel(
        layout,
        title,
        [
            target(
                f"max by (route, check, backend) (cutover_analysis_value{{{ROUTE}, {checks}}})",
                "{{check}} {{backend}} {{route}}",
            ),
            target(
                f"max by (route, check) (cutover_analysis_threshold{{{ROUTE}, {checks}}})",
                "threshold {{check}} {{route}}",
            ),
        ],
        unit=unit,
        overrides=backend_overrides(),
        description=f"The controller's inputs at each evaluation. {description}",
    )


def fault_panels(layout: Layout) -> list[Json]:
    """The injected faults (gateway/fault_metrics.py): whether one is on, its delay, its aborts."""
    by_backend = f"{{{BACKEND}}}"
    return [
        panel(
            layout,
            "Injected faults",
            [target(f"max by (backend) (cutover_fault_active{by_backend})", "{{backend}}")],
            kind="state-timeline",
            defaults={
                "mappings": [
                    {
                        "options": {
                            "0": {"color": "green", "index": 0, "text": "no fault"},
                            "1": {"color": "red", "index": 1, "text": "fault injected"},
                        },
                        "type": "value",
                    }
                ]
            },
            options={"showValue": "auto", "mergeValues": True},
            description="A fault rehearses a regression (`cutover fault`); its changes are "
            "annotations too. While one is on, a rollback may be the rehearsal working.",
        ),
        panel(
            layout,
            "Injected delay",
            [target(f"max by (backend) (cutover_fault_delay_seconds{by_backend})", "{{backend}}")],
            unit="s",
            overrides=backend_overrides(),
            description="Delay added to each hit request (fixed, median or lower bound).",
        ),
        panel(
            layout,
            "Injected aborts",
            [target(f"max by (backend) (cutover_fault_abort_ratio{by_backend})", "{{backend}}")],
            unit="percentunit",
            defaults={"min": 0, "max": 1},
            overrides=backend_overrides(),
            description="Share of hit requests the fault answers itself with its abort status.",
        ),
    ]


def comparison_panels(layout: Layout) -> list[Json]:
    """Baseline against candidate: one panel per measure, then the quantiles side by side."""
    panels = [row(layout, "Baseline vs candidate")]
    measures = [
        ("Request rate", "cutover:request_rate:rate1m", "reqps"),
        ("Error ratio (5xx)", "cutover:error_ratio:rate1m", "percentunit"),
        ("p95 latency", "cutover:request_duration_seconds:p95_rate1m", "s"),
    ]
    for title, record, unit in measures:
        panels.append(
            panel(
                layout,
                title,
                [target(f"{record}{{{ROUTE}, {BACKEND}}}", "{{backend}} {{route}}")],
                unit=unit,
                overrides=backend_overrides(),
            )
        )
    for name in BACKEND_COLORS:
        panels.append(
            panel(
                layout,
                f"Latency quantiles — {name}",
                [
                    target(
                        f'cutover:request_duration_seconds:{q}_rate1m{{{ROUTE}, backend="{name}"}}',
                        f"{q} {{{{route}}}}",
                    )
                    for q in ("p50", "p95", "p99")
                ],
                unit="s",
                width=12,
            )
        )
    panels.append(
        panel(
            layout,
            "Upstream errors by kind",
            [
                target(
                    f"cutover:upstream_error_rate:rate1m{{{ROUTE}, {BACKEND}}}",
                    "{{backend}} {{route}} {{kind}}",
                )
            ],
            unit="reqps",
            width=24,
            overrides=backend_overrides(),
        )
    )
    return panels


def improvement_panels(layout: Layout) -> list[Json]:
    stat_options: Json = {
        "colorMode": "value",
        "graphMode": "area",
        "reduceOptions": {"calcs": ["lastNotNull"]},
    }
    return [
        row(layout, "Improvement factors (seed 001)"),
        panel(
            layout,
            "Response time (baseline p95 / candidate p95)",
            [target(f"cutover:response_time_improvement:ratio_p95_rate1m{{{ROUTE}}}", "{{route}}")],
            kind="stat",
            unit="x",
            options=stat_options,
            description="Above 1: the candidate answers faster.",
        ),
        panel(
            layout,
            "Memory (baseline RSS / candidate RSS)",
            [target("cutover:memory_improvement:ratio", "memory")],
            kind="stat",
            unit="x",
            options=stat_options,
            description="Above 1: the candidate needs less resident memory.",
        ),
        panel(
            layout,
            "Throughput (candidate req/s / baseline req/s)",
            [target(f"cutover:throughput_ratio:rate1m{{{ROUTE}}}", "{{route}}")],
            kind="stat",
            unit="x",
            options=stat_options,
            description="Follows the weight split during a ramp; a capacity comparison only at "
            "equal shares.",
        ),
    ]


def shadow_panels(layout: Layout) -> list[Json]:
    return [
        row(layout, "Shadow comparison and contracts"),
        panel(
            layout,
            "Shadow match / mismatch ratio",
            [
                target(f"cutover:shadow_match_ratio:rate1m{{{ROUTE}}}", "matched {{route}}"),
                target(f"cutover:shadow_mismatch_ratio:rate1m{{{ROUTE}}}", "mismatched {{route}}"),
            ],
            unit="percentunit",
        ),
        panel(
            layout,
            "Shadow outcomes",
            [target(f"cutover:shadow_outcome_rate:rate1m{{{ROUTE}}}", "{{outcome}} {{route}}")],
            unit="ops",
        ),
        panel(
            layout,
            "Top mismatching fields (dashboard range)",
            [
                target(
                    "topk(10, sum by (route, field) "
                    f"(increase(cutover_shadow_field_mismatches_total{{{ROUTE}}}[$__range])))",
                    "{{route}} {{field}}",
                    instant=True,
                )
            ],
            kind="bargauge",
            options={
                "displayMode": "basic",
                "orientation": "horizontal",
                "reduceOptions": {"calcs": ["lastNotNull"]},
            },
        ),
        panel(
            layout,
            "Contract violations",
            [
                target(
                    f"cutover:contract_violation_rate:rate1m{{{ROUTE}, {BACKEND}}}",
                    "{{backend}} {{route}} {{kind}}",
                )
            ],
            unit="ops",
            width=24,
            overrides=backend_overrides(),
        ),
    ]


def health_panels(layout: Layout) -> list[Json]:
    return [
        row(layout, "Backends and gateway health"),
        panel(
            layout,
            "Backend resident memory",
            [target(f"cutover:backend_resident_memory_bytes:sum{{{BACKEND}}}", "{{backend}}")],
            unit="bytes",
            overrides=backend_overrides(),
        ),
        panel(
            layout,
            "Shadow queue depth",
            [target("sum(cutover_shadow_queue_depth)", "queued shadows")],
        ),
        panel(
            layout,
            "Shadow drops and fallbacks",
            [
                target(
                    "sum by (route) "
                    f"(rate(cutover_shadow_dropped_total{{{ROUTE}}}[$__rate_interval]))",
                    "dropped {{route}}",
                ),
                target(f"cutover:fallback_rate:rate1m{{{ROUTE}}}", "fallback {{route}}"),
            ],
            unit="ops",
        ),
        panel(
            layout,
            "WebSocket connections",
            [
                target(
                    "sum by (route, backend) "
                    f"(cutover_websocket_connections{{{ROUTE}, {BACKEND}}})",
                    "{{backend}} {{route}}",
                )
            ],
            width=12,
            overrides=backend_overrides(),
        ),
        panel(
            layout,
            "Scrape targets up",
            [
                target(
                    'up{job=~"cutover-gateway|llmstruct-fastapi|llmstruct-custom"}',
                    "{{job}} {{instance}}",
                )
            ],
            width=12,
        ),
    ]


def operations_panels(layout: Layout) -> list[Json]:
    """A route broken down by operation (issue #14): which operation a regression lives in.

    From the migration windows (``migration/operation_metrics.py``), one series per route x
    operation x backend; ``max by`` folds workers and replicas (each exports its own windows).
    """
    by_op = f"{{{ROUTE}, {BACKEND}}}"
    return [
        row(layout, "Operations"),
        panel(
            layout,
            "p95 latency by operation",
            [
                target(
                    "max by (route, operation, backend) "
                    f"(cutover_operation_window_p95_seconds{by_op})",
                    "{{backend}} {{operation}}",
                )
            ],
            unit="s",
            width=12,
            overrides=backend_overrides(),
            description="p95 over the last minute per operation; the verdict names an "
            "operation that regressed (seq_latency[operation]).",
        ),
        panel(
            layout,
            "Error ratio by operation",
            [
                target(
                    "max by (route, operation, backend) "
                    f"(cutover_operation_window_error_ratio{by_op})",
                    "{{backend}} {{operation}}",
                )
            ],
            unit="percentunit",
            width=12,
            overrides=backend_overrides(),
        ),
        panel(
            layout,
            "Traffic share by operation",
            [
                target(
                    f"sum by (route, operation) (rate(cutover_operation_requests_total{by_op}[1m]))"
                    f" / ignoring(operation) group_left sum by (route) "
                    f"(rate(cutover_operation_requests_total{by_op}[1m]))",
                    "{{route}} {{operation}}",
                )
            ],
            unit="percentunit",
            width=24,
            description="Each operation's share of the route's attempts.",
        ),
    ]


def replicas_panels(layout: Layout) -> list[Json]:
    """Gateway replicas and workers (issue #13): who leads, who applied
    which config, who is degraded.

    Empty on a single gateway without a shared store, which exports none of these series.
    """
    return [
        row(layout, "Replicas"),
        panel(
            layout,
            "Leader",
            [target("max by (replica) (cutover_leader)", "{{replica}}")],
            kind="state-timeline",
            defaults={
                "mappings": [
                    {
                        "options": {
                            "0": {"color": "text", "index": 0, "text": "follower"},
                            "1": {"color": "green", "index": 1, "text": "leader"},
                        },
                        "type": "value",
                    }
                ]
            },
            options={"showValue": "auto", "mergeValues": True},
            description="Which replica holds the controller lease; only it promotes or rolls back.",
        ),
        panel(
            layout,
            "Config version per replica",
            [
                target(
                    'max by (instance, worker) (cutover_config_version{job="cutover-gateway"})',
                    "{{instance}} {{worker}}",
                )
            ],
            defaults={"decimals": 0},
            description="Config snapshot each process applied; lines apart for long mean a "
            "stuck one.",
        ),
        panel(
            layout,
            "Replicas seen by the leader",
            [target("max(cutover_replicas)", "replicas")],
            kind="stat",
            defaults={"decimals": 0},
            description="Members heard from within 3 lease TTLs.",
        ),
        panel(
            layout,
            "Fail-static and state store",
            [
                target(
                    'max by (instance) (cutover_fail_static{job="cutover-gateway"})',
                    "fail-static {{instance}}",
                ),
                target(
                    'min by (instance) (cutover_state_store_up{job="cutover-gateway"})',
                    "store up {{instance}}",
                ),
            ],
            defaults={"min": 0, "max": 1, "decimals": 0},
            width=12,
            description="Store up 0 means PostgreSQL is unreachable; fail-static 1 means "
            "serving on the last snapshot (weights never rise, the controller holds).",
        ),
        panel(
            layout,
            "Workers up",
            [
                target(
                    'sum by (instance) (cutover_worker_up{job="cutover-gateway"})',
                    "up {{instance}}",
                ),
                target(
                    'max by (instance) (cutover_workers{job="cutover-gateway"})',
                    "configured {{instance}}",
                ),
            ],
            defaults={"decimals": 0},
            width=12,
            description="Data-plane workers answering their supervisor, against the number "
            "configured.",
        ),
    ]


def stepped(counter: str, by: str = "route") -> str:
    """Where ``counter`` stepped within the interval: an increase, or a series new in it."""
    return (
        f"sum by ({by}) (changes({counter}[$__interval]) > 0)"
        f" or sum by ({by}) ({counter} unless {counter} offset $__interval)"
    )


def entered(gauge: str, value: int, by: str = "route", selector: str = ROUTE) -> str:
    """Where ``max by (by) (gauge)`` is ``value`` and changed within the interval.

    ``changes()`` (and ``max_over_time`` in :func:`left`) read the samples *inside* the window, so
    a transition shortly after the series appeared is still marked; ``offset`` would look before
    it and find nothing.
    """
    now = f"max by ({by}) ({gauge}{{{selector}}})"
    changed = f"max by ({by}) (changes({gauge}{{{selector}}}[$__interval]))"
    return f"{now} == {value} and on ({by}) {changed} > 0"


def left(gauge: str, was: int, now: int, by: str = "route", selector: str = ROUTE) -> str:
    """Where ``max by (by) (gauge)`` is ``now`` after reading ``was`` within the interval."""
    current = f"max by ({by}) ({gauge}{{{selector}}})"
    before = f"max by ({by}) (max_over_time({gauge}{{{selector}}}[$__interval]))"
    return f"{current} == {now} and on ({by}) {before} == {was}"


def annotation(
    name: str, expr: str, color: str, title: str, *, tags: str = "route", text: str = ""
) -> Json:
    """A Prometheus annotation: a mark wherever ``expr`` returns a series."""
    return {
        "datasource": DATASOURCE,
        "enable": True,
        "expr": expr,
        "iconColor": color,
        "name": name,
        "step": "",
        "tagKeys": tags,
        "textFormat": text,
        "titleFormat": title,
        "useValueForTime": False,
    }


def dashboard_annotations() -> list[Json]:
    """Every event that moves a migration or a fault (see the module docstring)."""
    phase = "cutover_migration_phase"
    code = {name: i for i, name in enumerate(PHASES)}
    events = "reason and actor: cutover events --route {{route}}"
    resumed = left(phase, code["paused"], code["running"])
    weight = f"cutover_candidate_weight{{{ROUTE}}}"
    manual = (
        f"sum by (route) (changes({weight}[$__interval]) > 0) unless on (route) "
        f"({stepped('cutover_promotions_total')} or {stepped('cutover_rollbacks_total')})"
    )
    fault_changed = (
        "max by (backend) (changes(cutover_fault_delay_seconds[$__interval]) > 0"
        " or changes(cutover_fault_abort_ratio[$__interval]) > 0"
        " or changes(cutover_fault_filtered[$__interval]) > 0)"
        " and on (backend) max by (backend) (cutover_fault_active) == 1"
    )
    fault_cleared = left("cutover_fault_active", 1, 0, "backend", BACKEND)
    return [
        annotation(
            "Rollbacks", stepped("cutover_rollbacks_total", "route, reason"), "red",
            "Rollback on {{route}}: {{reason}}", tags="route,reason",
            text="reason: the failing check, manual or abort; details: cutover events",
        ),
        annotation(
            "Promotions", stepped("cutover_promotions_total"), "green", "Promotion on {{route}}"
        ),
        annotation(
            "Paused", entered(phase, code["paused"]), "yellow", "Paused: {{route}}", text=events
        ),
        annotation("Resumed", resumed, "blue", "Resumed: {{route}}", text=events),
        annotation(
            "Aborted", entered(phase, code["aborted"]), "purple", "Aborted: {{route}}", text=events
        ),
        annotation(
            "Completed", entered(phase, code["completed"]), "green", "Completed: {{route}}"
        ),
        annotation("Manual weight", manual, "orange", "Weight set on {{route}}", text=events),
        annotation(
            "Fault injected or changed", fault_changed, "dark-red", "Fault on {{backend}}",
            tags="backend", text="current fault: cutover fault {{backend}}",
        ),
        annotation(
            "Fault cleared", fault_cleared, "dark-green", "Fault cleared on {{backend}}",
            tags="backend",
        ),
    ]  # fmt: skip


def variable(name: str, label: str) -> Json:
    """A multi-value template variable over one label of cutover_requests_total."""
    query = f"label_values(cutover_requests_total, {name})"
    return {
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "datasource": DATASOURCE,
        "definition": query,
        "includeAll": True,
        "label": label,
        "multi": True,
        "name": name,
        "options": [],
        "query": {
            "qryType": 1,
            "query": query,
            "refId": "PrometheusVariableQueryEditor-VariableQuery",
        },
        "refresh": 2,
        "regex": "",
        "sort": 1,
        "type": "query",
    }


def build_dashboard() -> Json:
    """The whole dashboard as a JSON-ready dict."""
    layout = Layout()
    panels = [
        *rollout_panels(layout),
        *comparison_panels(layout),
        *improvement_panels(layout),
        *shadow_panels(layout),
        *health_panels(layout),
        *operations_panels(layout),
        *replicas_panels(layout),
    ]
    return {
        "annotations": {
            "list": [
                {
                    "builtIn": 1,
                    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                    "enable": True,
                    "hide": True,
                    "iconColor": "rgba(0, 211, 255, 1)",
                    "name": "Annotations & Alerts",
                    "type": "dashboard",
                },
                *dashboard_annotations(),
            ]
        },
        "description": "Baseline against candidate while Cutover moves traffic between them.",
        "editable": True,
        "graphTooltip": 1,
        "links": [],
        "panels": panels,
        "refresh": "10s",
        "schemaVersion": SCHEMA_VERSION,
        "tags": ["cutover", "migration"],
        "templating": {"list": [variable("route", "Route"), variable("backend", "Backend")]},
        "time": {"from": "now-1h", "to": "now"},
        "timepicker": {},
        "timezone": "utc",
        "title": "Cutover migration",
        "uid": "cutover-migration",
        "version": 1,
    }


def render() -> str:
    """The dashboard file's exact text."""
    return json.dumps(build_dashboard(), indent=2, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the checked-in file differs"
    )
    parser.add_argument("--output", type=Path, default=OUTPUT, help=f"default {OUTPUT}")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(
                f"{args.output} is out of date: run python {Path(__file__).name}", file=sys.stderr
            )
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
