"""Seed 001's MigrationReport: both backends side by side, improvement factors, and the ramp so far.

:func:`build_report` gathers the numbers (windows, scraped memory, stored state, events and the
bounded snapshot ring); :func:`render` turns a report into ``table``, ``json``, ``markdown`` or
``html`` (with inline SVG charts of weight, p95 and error rate over time — no JavaScript, no CDN).
The text renderers open with the newest evaluation's decision and reasons (the current why).

Improvement factors follow seed 001 — response_time = baseline p95 / candidate p95, memory =
baseline / candidate, throughput = candidate / baseline — and are ``None`` when a divisor is zero or
missing. Throughput is *share-normalised* when the route's weight is known: each backend's observed
rate is divided by its traffic share, so 1.0 means both served what the split sent them. A passive
window cannot measure capacity (that is what the load benchmarks are for); without a known weight
(all routes together) the raw ratio is given and the note says so.
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from migration.memory import MemorySource
from migration.report_operations import (
    OperationRow,
    operation_rows,
    operations_html,
    operations_lines,
)
from migration.seams import BACKENDS, BASELINE, CANDIDATE, ViewSource
from migration.sketch import LatencySketch
from migration.state import Event, MigrationState, Snapshot
from migration.store import StateStore
from migration.windows import WindowStats

__all__ = ["FORMATS", "BackendSummary", "Factors", "MigrationReport", "build_report", "render"]

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
    """Seed 001's improvement factors (> 1 means the candidate is better)."""

    response_time: float | None
    memory: float | None
    throughput: float | None
    throughput_note: str


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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "generated_at": self.generated_at,
            "route": self.route,
            "window_s": self.window_s,
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


def _factors(base: BackendSummary, cand: BackendSummary, weight_bps: int | None) -> Factors:
    if weight_bps is not None and 0 < weight_bps < 10_000:
        share = weight_bps / 10_000
        throughput = _ratio(cand.throughput_rps / share, base.throughput_rps / (1 - share))
        note = f"share-normalised at {share:.0%} candidate weight"
    else:
        throughput = _ratio(cand.throughput_rps, base.throughput_rps)
        note = "raw ratio of observed request rates (weight unknown or at 0/100 %)"
    return Factors(
        _ratio(base.p95, cand.p95), _ratio(base.memory_bytes, cand.memory_bytes), throughput, note
    )


async def build_report(
    metrics: ViewSource,
    *,
    route: str | None = None,
    memory: MemorySource | None = None,
    store: StateStore | None = None,
    span_s: float | None = None,
    clock: Callable[[], float] = time.time,
    history: int = 500,
    calibration: Mapping[str, Any] | None = None,
) -> MigrationReport:
    """Collect the comparison data for ``route`` (or all routes merged).

    ``calibration``: the controller's live A/A calibration of ``route``, reported as one line.
    """
    span = metrics.window_s if span_s is None else span_s
    scraped = await memory.resident_memory() if memory is not None else {}
    stats = {b: _stats(metrics, route, b, span) for b in BACKENDS}
    base = _summary(BASELINE, stats[BASELINE], scraped.get(BASELINE))
    cand = _summary(CANDIDATE, stats[CANDIDATE], scraped.get(CANDIDATE))
    state = store.load(route) if store is not None and route is not None else None
    events = tuple(store.events(route, limit=history)) if store is not None else ()
    snaps = tuple(store.snapshots(route, history)) if store is not None and route else ()
    weight = state.weight_bps if state is not None else None
    return MigrationReport(
        clock(), route, span, base, cand, _factors(base, cand, weight), state, events, snaps,
        operation_rows(metrics, route, span), calibration,
    )  # fmt: skip


# -- renderers ------------------------------------------------------------------------------------


def _fmt(value: float | None, unit: str) -> str:
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


def _rows(report: MigrationReport) -> list[tuple[str, str, str]]:
    b, c = report.baseline, report.candidate
    return [
        ("requests", str(b.requests), str(c.requests)),
        ("p50", _fmt(b.p50, "ms"), _fmt(c.p50, "ms")),
        ("p95", _fmt(b.p95, "ms"), _fmt(c.p95, "ms")),
        ("p99", _fmt(b.p99, "ms"), _fmt(c.p99, "ms")),
        ("memory", _fmt(b.memory_bytes, "MiB"), _fmt(c.memory_bytes, "MiB")),
        ("throughput", _fmt(b.throughput_rps, "req/s"), _fmt(c.throughput_rps, "req/s")),
        ("error rate", _fmt(b.error_rate, "%"), _fmt(c.error_rate, "%")),
    ]


def _factor_rows(report: MigrationReport) -> list[tuple[str, str]]:
    f = report.factors
    return [
        ("response time (baseline p95 / candidate p95)", _fmt(f.response_time, "x")),
        ("memory (baseline / candidate)", _fmt(f.memory, "x")),
        (f"throughput ({f.throughput_note})", _fmt(f.throughput, "x")),
    ]


def _title(report: MigrationReport) -> str:
    scope = f"route {report.route}" if report.route else "all routes"
    state = report.state
    where = "" if state is None else f" — {state.phase.value}, step {state.step_index + 1}"
    where += "" if state is None else f"/{len(state.plan.steps)} at {state.weight_bps / 100:g}%"
    return f"Migration report: {scope}{where} (last {report.window_s:g} s)"


def _calibration(report: MigrationReport) -> str | None:
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


def _latest(report: MigrationReport) -> str | None:
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
    latest, calibration = _latest(report), _calibration(report)
    lines = [_title(report), *([latest] if latest else []), *([calibration] if calibration else [])]
    lines.append("")
    rows = [("", BASELINE, CANDIDATE), *_rows(report)]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines += ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)) for r in rows]
    lines += ["", "improvement factors:"]
    lines += [f"  {name}: {value}" for name, value in _factor_rows(report)]
    lines += operations_lines(report.operations, markdown=False)
    return "\n".join(lines) + "\n"


def render_markdown(report: MigrationReport) -> str:
    """GitHub-flavoured markdown."""
    latest, calibration = _latest(report), _calibration(report)
    lines = [f"## {_title(report)}", "", *([latest, ""] if latest else [])]
    lines += [calibration, ""] if calibration else []
    lines += ["| | baseline | candidate |", "| --- | --- | --- |"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in _rows(report)]
    lines += ["", "| improvement factor | value |", "| --- | --- |"]
    lines += [f"| {a} | {b} |" for a, b in _factor_rows(report)]
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


def _svg_chart(
    title: str, series: Sequence[tuple[str, str, Sequence[tuple[float, float | None]]]], unit: str
) -> str:
    """A small line chart; ``series`` is (name, colour, [(t, value)])."""
    width, height, pad = 640, 180, 40
    points = [(t, v) for _, _, data in series for t, v in data if v is not None]
    if not points:
        return f"<figure><figcaption>{html.escape(title)}: no data</figcaption></figure>"
    t0, t1 = min(p[0] for p in points), max(p[0] for p in points)
    top = max(p[1] for p in points) or 1.0
    span = (t1 - t0) or 1.0

    def xy(t: float, v: float) -> str:
        x = pad + (t - t0) / span * (width - 2 * pad)
        y = height - pad - v / top * (height - 2 * pad)
        return f"{x:.1f},{y:.1f}"

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">',
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#999"/>',
        f'<text x="4" y="{pad - 8}" font-size="11">max {top:.4g} {html.escape(unit)}</text>',
    ]
    for i, (name, colour, data) in enumerate(series):
        coords = " ".join(xy(t, v) for t, v in data if v is not None)
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{coords}"/>'
        )
        legend_x = width - pad - 120 + i * 60
        parts.append(
            f'<text x="{legend_x}" y="14" font-size="11" fill="{colour}">{html.escape(name)}</text>'
        )
    parts.append("</svg>")
    caption = f"<figcaption>{html.escape(title)}</figcaption>"
    return f"<figure>{''.join(parts)}{caption}</figure>"


def render_html(report: MigrationReport) -> str:
    """A standalone HTML page with the tables and inline SVG charts over time."""
    s = report.snapshots
    rows = "".join(
        f"<tr><th>{html.escape(a)}</th><td>{html.escape(b)}</td><td>{html.escape(c)}</td></tr>"
        for a, b, c in _rows(report)
    )
    factors = "".join(
        f"<tr><th>{html.escape(a)}</th><td>{html.escape(b)}</td></tr>"
        for a, b in _factor_rows(report)
    )
    charts = [
        _svg_chart("candidate weight", [("weight", "#6a3d9a", [(x.at, x.weight_bps / 100) for x in s])], "%"),
        _svg_chart("p95 latency", [
            ("baseline", "#1f78b4", [(x.at, None if x.baseline_p95 is None else x.baseline_p95 * 1000) for x in s]),
            ("candidate", "#e31a1c", [(x.at, None if x.candidate_p95 is None else x.candidate_p95 * 1000) for x in s]),
        ], "ms"),
        _svg_chart("error rate", [
            ("baseline", "#1f78b4", [(x.at, None if x.baseline_error_rate is None else x.baseline_error_rate * 100) for x in s]),
            ("candidate", "#e31a1c", [(x.at, None if x.candidate_error_rate is None else x.candidate_error_rate * 100) for x in s]),
        ], "%"),
    ]  # fmt: skip
    events = "".join(
        f"<tr><td>{time.strftime('%H:%M:%S', time.gmtime(e.at))}</td><td>{html.escape(e.kind)}</td>"
        f"<td>{e.weight_bps / 100:g}%</td><td>{html.escape('; '.join(e.reasons))}</td></tr>"
        for e in report.events[-50:]
    )
    title = html.escape(_title(report))
    latest, calibration = _latest(report), _calibration(report)
    why = "".join(f"<p>{html.escape(line)}</p>" for line in (latest, calibration) if line)
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}</style></head><body>"
        f"<h1>{title}</h1>{why}<table><tr><th></th><th>baseline</th><th>candidate</th></tr>{rows}"
        f"</table><h2>Improvement factors</h2><table>{factors}</table>"
        f"{operations_html(report.operations)}"
        f"<h2>Over time</h2>{''.join(charts)}"
        f"<h2>Events</h2><table><tr><th>time</th><th>event</th><th>weight</th><th>reasons</th></tr>"
        f"{events}</table></body></html>\n"
    )


def render(report: MigrationReport, fmt: str = "table") -> str:
    """Render ``report`` as one of :data:`FORMATS`."""
    renderers = {
        "table": render_table,
        "json": render_json,
        "markdown": render_markdown,
        "html": render_html,
    }
    if fmt not in renderers:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    return renderers[fmt](report)
