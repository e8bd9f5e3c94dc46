"""Seed 001's MigrationReport: both backends side by side, improvement factors, and the ramp so far.

:func:`build_report` gathers the numbers (windows, scraped memory, stored state, events and the
bounded snapshot ring); :func:`render` turns a report into ``table``, ``json``, ``markdown`` or
``html`` (:mod:`migration.report_html`: charts of the whole migration — no JavaScript, no CDN).
The text renderers open with the newest evaluation's decision and reasons (the current why).

Two spans: the side-by-side numbers are the live windows (the last ``window_s`` seconds); the
history (snapshots and events, which the charts draw) covers the migration from its latest
``started`` event to now, or from ``since`` (:func:`parse_since`: ``10m``, ``2h`` or an ISO time).

Improvement factors follow seed 001 — response_time = baseline p95 / candidate p95, memory =
baseline / candidate, throughput = candidate / baseline — and are ``None`` when a divisor is zero or
missing; each carries a one-line note saying what it means or why there is none. Throughput is
*share-normalised* and given only while the route's weight is strictly between 0 and 100 %: each
backend's observed rate is divided by its traffic share, so 1.0 means both served what the split
sent them. At 0 or 100 % (or with no known weight, all routes together) one backend gets all the
traffic and a ratio of rates compares nothing, so the note says that instead of printing ``0.00x``.
A passive window cannot measure capacity either way (that is what the load benchmarks are for).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from migration.memory import MemorySource
from migration.report_operations import OperationRow, operation_rows, operations_lines
from migration.seams import BACKENDS, BASELINE, CANDIDATE, ViewSource
from migration.sketch import LatencySketch
from migration.state import Event, MigrationState, Snapshot
from migration.store import StateStore
from migration.windows import WindowStats

__all__ = [
    "FORMATS",
    "BackendSummary",
    "Factors",
    "MigrationReport",
    "build_report",
    "calibration_line",
    "factor_lines",
    "fmt_value",
    "latest_line",
    "parse_since",
    "render",
    "report_title",
    "summary_rows",
]

FORMATS = ("table", "json", "markdown", "html")


@dataclass(frozen=True)
class BackendSummary:
    """One backend's numbers over the report window (seconds, bytes, requests/s, ratio)."""

    backend: str
    requests: int
    p50: float | None
    p95: float | None
    p99: float | None
    memory_bytes: float | None
    throughput_rps: float
    error_rate: float | None


@dataclass(frozen=True)
class Factors:
    """Seed 001's improvement factors (> 1 means the candidate is better), each with a note."""

    response_time: float | None
    memory: float | None
    throughput: float | None
    throughput_note: str
    response_time_note: str = ""
    memory_note: str = ""


@dataclass(frozen=True)
class MigrationReport:
    """Everything a report renderer needs, as plain data."""

    generated_at: float
    route: str | None
    window_s: float
    baseline: BackendSummary
    candidate: BackendSummary
    factors: Factors
    state: MigrationState | None = None
    events: tuple[Event, ...] = ()
    snapshots: tuple[Snapshot, ...] = ()
    operations: tuple[OperationRow, ...] = ()
    #: The controller's live A/A calibration of the route (``MigrationController.calibration``).
    calibration: Mapping[str, Any] | None = None
    #: Start of the history (snapshots, events) the report covers; ``None``: all that is stored.
    since: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "generated_at": self.generated_at,
            "route": self.route,
            "window_s": self.window_s,
            "since": self.since,
            "baseline": asdict(self.baseline),
            "candidate": asdict(self.candidate),
            "improvement_factors": asdict(self.factors),
            "state": None if self.state is None else self.state.to_dict(),
            "events": [e.to_dict() for e in self.events],
            "snapshots": [s.to_dict() for s in self.snapshots],
            "operations": [o.to_dict() for o in self.operations],
            "calibration": None if self.calibration is None else dict(self.calibration),
        }


def _ratio(top: float | None, bottom: float | None) -> float | None:
    if top is None or bottom is None or bottom == 0:
        return None
    return top / bottom


def _stats(metrics: ViewSource, route: str | None, backend: str, span: float) -> WindowStats:
    if route is not None:
        return metrics.window(route, backend, span)
    parts = [metrics.window(r, backend, span) for r in metrics.routes()]
    if not parts:
        return WindowStats.empty(span)
    return WindowStats(
        sum(p.requests for p in parts),
        sum(p.errors for p in parts),
        sum(p.connect_errors for p in parts),
        sum(p.timeouts for p in parts),
        LatencySketch.merged(p.latency for p in parts),
        max(p.span_s for p in parts),
    )


def _summary(backend: str, stats: WindowStats, memory: float | None) -> BackendSummary:
    return BackendSummary(
        backend, stats.requests, stats.p(0.5), stats.p(0.95), stats.p(0.99), memory,
        stats.throughput, stats.error_rate,
    )  # fmt: skip


def _times(better: float) -> str:
    return f"{better:.2f}x" if better >= 1 else f"{1 / better:.2f}x"


def _factors(base: BackendSummary, cand: BackendSummary, weight_bps: int | None) -> Factors:
    rt = _ratio(base.p95, cand.p95)
    if rt is None:
        rt_note = "none: a backend has no latency samples in the window"
    else:
        rt_note = (
            f"candidate p95 is {_times(rt)} {'faster' if rt >= 1 else 'slower'} than baseline's"
        )
    mem = _ratio(base.memory_bytes, cand.memory_bytes)
    if mem is None:
        mem_note = "none: no resident memory scraped from both backends' /metrics"
    else:
        mem_note = f"candidate needs {_times(mem)} {'less' if mem >= 1 else 'more'} memory"
    if weight_bps is None:
        throughput = None
        note = "none: no single route's weight (all routes merged), so the shares are unknown"
    elif not 0 < weight_bps < 10_000:
        throughput = None
        note = (
            f"none: at {weight_bps / 100:g} % one backend gets all the traffic, "
            "so a ratio of request rates compares nothing"
        )
    else:
        share = weight_bps / 10_000
        throughput = _ratio(cand.throughput_rps / share, base.throughput_rps / (1 - share))
        note = f"share-normalised at {share:.0%} candidate weight (1.00x: each served its share)"
        if throughput is None:
            note = "none: the baseline served no requests in the window"
    return Factors(rt, mem, throughput, note, rt_note, mem_note)


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d)$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since(text: str, now: float) -> float:
    """``since`` as a time: a duration back from ``now`` (``90s``, ``10m``, ``2h``, ``1d``) or an
    ISO 8601 time (``2026-12-06T09:00:00Z``; without a zone, UTC). ``ValueError`` names the forms."""
    text = text.strip()
    found = _DURATION.match(text)
    if found:
        return now - float(found[1]) * _UNIT_S[found[2]]
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"since must be a duration (90s, 10m, 2h, 1d) or an ISO time, got {text!r}"
        ) from None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


def _migration_start(events: tuple[Event, ...]) -> float | None:
    """When the route's latest migration started (its newest ``started`` event)."""
    return next((e.at for e in reversed(events) if e.kind == "started"), None)


async def build_report(
    metrics: ViewSource,
    *,
    route: str | None = None,
    memory: MemorySource | None = None,
    store: StateStore | None = None,
    span_s: float | None = None,
    clock: Callable[[], float] = time.time,
    history: int = 5000,
    calibration: Mapping[str, Any] | None = None,
    since: float | None = None,
) -> MigrationReport:
    """Collect the comparison data for ``route`` (or all routes merged).

    ``calibration``: the controller's live A/A calibration of ``route``, reported as one line.
    ``since``: the history's start (default: the latest migration's start, else all stored);
    ``history``: at most this many events are read (snapshots: the whole bounded ring).
    """
    span = metrics.window_s if span_s is None else span_s
    scraped = await memory.resident_memory() if memory is not None else {}
    stats = {b: _stats(metrics, route, b, span) for b in BACKENDS}
    base = _summary(BASELINE, stats[BASELINE], scraped.get(BASELINE))
    cand = _summary(CANDIDATE, stats[CANDIDATE], scraped.get(CANDIDATE))
    state = store.load(route) if store is not None and route is not None else None
    events = tuple(store.events(route, limit=history)) if store is not None else ()
    snaps = tuple(store.snapshots(route, 1_000_000)) if store is not None and route else ()
    if since is None and route is not None:
        since = _migration_start(events)
    if since is not None:
        events = tuple(e for e in events if e.at >= since)
        snaps = tuple(s for s in snaps if s.at >= since)
    weight = state.weight_bps if state is not None else None
    return MigrationReport(
        clock(), route, span, base, cand, _factors(base, cand, weight), state, events, snaps,
        operation_rows(metrics, route, span), calibration, since,
    )  # fmt: skip


# -- renderers ------------------------------------------------------------------------------------


def fmt_value(value: float | None, unit: str) -> str:
    """``value`` in ``unit`` (``ms`` and ``%`` scale seconds and ratios), ``n/a`` for ``None``."""
    if value is None:
        return "n/a"
    if unit == "ms":
        return f"{value * 1000:.1f} ms"
    if unit == "MiB":
        return f"{value / 2**20:.1f} MiB"
    if unit == "%":
        return f"{value * 100:.2f} %"
    if unit == "x":
        return f"{value:.2f}x"
    return f"{value:.1f} {unit}"


def summary_rows(report: MigrationReport) -> list[tuple[str, str, str]]:
    """``(measure, baseline, candidate)`` over the live windows."""
    b, c = report.baseline, report.candidate
    return [
        ("requests", str(b.requests), str(c.requests)),
        ("p50", fmt_value(b.p50, "ms"), fmt_value(c.p50, "ms")),
        ("p95", fmt_value(b.p95, "ms"), fmt_value(c.p95, "ms")),
        ("p99", fmt_value(b.p99, "ms"), fmt_value(c.p99, "ms")),
        ("memory", fmt_value(b.memory_bytes, "MiB"), fmt_value(c.memory_bytes, "MiB")),
        ("throughput", fmt_value(b.throughput_rps, "req/s"), fmt_value(c.throughput_rps, "req/s")),
        ("error rate", fmt_value(b.error_rate, "%"), fmt_value(c.error_rate, "%")),
    ]


def factor_lines(report: MigrationReport) -> list[tuple[str, str, str]]:
    """``(factor, value or "—", one-line note)``: what each factor says, or why there is none."""
    f = report.factors

    def value(v: float | None) -> str:
        return "—" if v is None else fmt_value(v, "x")

    return [
        (
            "response time (baseline p95 / candidate p95)",
            value(f.response_time),
            f.response_time_note,
        ),
        ("memory (baseline RSS / candidate RSS)", value(f.memory), f.memory_note),
        (
            "throughput (candidate / baseline rate per share)",
            value(f.throughput),
            f.throughput_note,
        ),
    ]


def report_title(report: MigrationReport) -> str:
    """Scope, phase, step (counted from 1, as the CLI does) and weight."""
    scope = f"route {report.route}" if report.route else "all routes"
    state = report.state
    where = "" if state is None else f" — {state.phase.value}, step {state.step_index + 1}"
    where += "" if state is None else f"/{len(state.plan.steps)} at {state.weight_bps / 100:g}%"
    return f"Migration report: {scope}{where}"


def calibration_line(report: MigrationReport) -> str | None:
    """The live A/A calibration as one line: each harm check's false alarms per step observed."""
    c = report.calibration
    if not c or not c.get("steps"):
        return None
    alarms = c.get("alarms") or {}
    fired = ", ".join(f"{check} {n}" for check, n in alarms.items()) or "none fired"
    return (
        f"A/A calibration (the baseline judged against itself): {c['steps']} steps, "
        f"false alarms: {fired} (budget {c.get('budget_per_check', 0):.2%} per check and step)"
    )


def latest_line(report: MigrationReport) -> str | None:
    """The newest evaluation's decision and reasons: the current why.

    The events list only shows decisions that changed (issue #14), so without this line a report
    could explain a hold by a reason that has long moved on.
    """
    if not report.snapshots:
        return None
    s = report.snapshots[-1]
    age = max(0.0, report.generated_at - s.at)
    why = "; ".join(s.reasons) or "no reasons recorded"
    return f"latest evaluation ({age:.0f} s before this report): {s.decision} — {why}"


def render_table(report: MigrationReport) -> str:
    """Aligned plain text for a terminal."""
    latest, calibration = latest_line(report), calibration_line(report)
    lines = [
        report_title(report),
        *([latest] if latest else []),
        *([calibration] if calibration else []),
    ]
    lines.append("")
    rows = [(f"last {report.window_s:g} s", BASELINE, CANDIDATE), *summary_rows(report)]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines += ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)) for r in rows]
    lines += ["", "improvement factors:"]
    lines += [
        f"  {name}: {note}" if value == "—" else f"  {name}: {value} — {note}"
        for name, value, note in factor_lines(report)
    ]
    lines += operations_lines(report.operations, markdown=False)
    return "\n".join(lines) + "\n"


def render_markdown(report: MigrationReport) -> str:
    """GitHub-flavoured markdown."""
    latest, calibration = latest_line(report), calibration_line(report)
    lines = [f"## {report_title(report)}", "", *([latest, ""] if latest else [])]
    lines += [calibration, ""] if calibration else []
    lines += [f"| last {report.window_s:g} s | baseline | candidate |", "| --- | --- | --- |"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in summary_rows(report)]
    lines += ["", "| improvement factor | value | what it says |", "| --- | --- | --- |"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in factor_lines(report)]
    lines += operations_lines(report.operations, markdown=True)
    if report.events:
        lines += ["", "| time | event | weight | reasons |", "| --- | --- | --- | --- |"]
        for e in report.events[-20:]:
            at = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(e.at))
            lines.append(f"| {at} | {e.kind} | {e.weight_bps / 100:g}% | {'; '.join(e.reasons)} |")
    return "\n".join(lines) + "\n"


def render_json(report: MigrationReport) -> str:
    """The report as JSON."""
    return json.dumps(report.to_dict(), indent=2) + "\n"


def render(report: MigrationReport, fmt: str = "table") -> str:
    """Render ``report`` as one of :data:`FORMATS`."""
    from migration.report_html import render_html  # it imports this module's model and helpers

    renderers = {
        "table": render_table,
        "json": render_json,
        "markdown": render_markdown,
        "html": render_html,
    }
    if fmt not in renderers:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    return renderers[fmt](report)
