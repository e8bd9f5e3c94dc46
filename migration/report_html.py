"""The HTML report: one offline page with the whole migration on a time axis, and why it moved.

Charts (:mod:`migration.report_charts`, hand-written SVG — see there why no library): the
candidate weight, both backends' p95 and both backends' error rate, each over the report's history
(the migration from its start, or ``since``), sharing one time axis. Every chart shades the plan's
steps (runs of one weight) and draws a numbered line for each operator action or decision that
moved the migration (:data:`MARKED`); the numbers point into the list below the charts, which gives
each marker's time, kind, weight and reasons (also the line's hover title). A line breaks where no
evaluation was recorded for more than three intervals (the gateway was down, the store thinned or
the migration paused), so a gap is never drawn as a trend.

Below: the live numbers (last ``window_s`` seconds), the improvement factors with what each one
says, the per-operation windows, what the per-operation checks found over the history (when the
snapshots' ``checks`` carry ``name[operation]`` entries), and the event list.
"""

from __future__ import annotations

import html
import itertools
import statistics
import time
from collections.abc import Callable, Sequence

from migration.report_charts import Band, Marker, Series, TimeAxis, line_chart
from migration.report_data import MigrationReport
from migration.report_operations import operations_html
from migration.report_text import (
    calibration_line,
    factor_lines,
    latest_line,
    period_line,
    report_title,
    summary_rows,
)
from migration.snapshot_thinning import TIERS, spacing
from migration.state import Event, Snapshot

__all__ = ["MARKED", "gap_bands", "gaps", "markers", "paused_bands", "render_html", "step_bands"]

Getter = Callable[[Snapshot], float | None]
Fmt = Callable[[float], str]
#: The smallest value scales (5 ms, 1 %): an idle or error-free series is not drawn on 0..1.
LEAST_P95_S, LEAST_ERROR_RATE = 0.005, 0.01
BASELINE_COLOUR, CANDIDATE_COLOUR, WEIGHT_COLOUR = "#1f6fb4", "#e8590c", "#6a3d9a"

#: Event kinds drawn as chart markers, with their colour (others are listed in the event table).
MARKED = {
    "started": "#495057",
    "promoted": "#2b8a3e",
    "completed": "#087f5b",
    "rolled_back": "#c92a2a",
    "aborted": "#862e9c",
    "paused": "#f08c00",
    "overridden": "#f08c00",
    "resumed": "#1098ad",
    "weight_set": "#5f3dc4",
    "awaiting_gate": "#a61e4d",
    "stalled": "#868e96",
}

_CSS = (
    "body{font-family:system-ui,sans-serif;margin:24px 32px;color:#212529;max-width:1240px}"
    "h1{font-size:22px}h2{font-size:17px;margin-top:28px}"
    "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #dee2e6;padding:4px 8px;"
    "text-align:left;font-size:13px;vertical-align:top}th{background:#f8f9fa}"
    "figure{margin:10px 0 4px}figcaption{font-size:14px;font-weight:600;margin-bottom:2px}"
    ".grid{stroke:#dee2e6;stroke-width:1}.axis{stroke:#868e96;stroke-width:1}"
    ".ylab{font-size:12px;text-anchor:end;fill:#495057}.xlab{font-size:12px;text-anchor:middle;"
    "fill:#495057}.band{font-size:11px;fill:#495057}.legend{font-size:13px;margin-left:10px}"
    ".num{font-size:10px;fill:#fff;text-anchor:middle;font-weight:700}"
    "ol.markers{font-size:13px;columns:2;column-gap:32px}ol.markers li{margin-bottom:3px}"
    ".kind{font-weight:600}.muted{color:#6c757d;font-size:13px}"
)


def _clock(at: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(at))


def _interval(snaps: Sequence[Snapshot]) -> float:
    """The evaluation interval: the median spacing of the unthinned snapshots (1 s with too few)."""
    newest = snaps[-1].at if snaps else 0.0
    recent = [s for s in snaps if newest - s.at <= TIERS[0][0]]
    steps = [b.at - a.at for a, b in itertools.pairwise(recent) if b.at > a.at]
    return statistics.median(steps) if steps else 1.0


def gaps(snaps: Sequence[Snapshot], interval_s: float) -> list[tuple[float, float]]:
    """Where no evaluation was recorded for over three times the spacing expected there (the
    interval, or what :mod:`migration.snapshot_thinning` leaves of older stretches)."""
    newest = snaps[-1].at if snaps else 0.0
    return [
        (a.at, b.at)
        for a, b in itertools.pairwise(snaps)
        if b.at - a.at > 3 * spacing(newest - a.at, interval_s)
    ]


def step_bands(snaps: Sequence[Snapshot], end: float) -> list[Band]:
    """One band per run of snapshots at one weight (the plan's steps as they were held)."""
    bands: list[Band] = []
    start, weight = None, None
    for s in snaps:
        if s.weight_bps != weight:
            if start is not None and weight is not None:
                bands.append(Band(start, s.at, f"{weight / 100:g} %"))
            start, weight = s.at, s.weight_bps
    if start is not None and weight is not None:
        bands.append(Band(start, end, f"{weight / 100:g} %"))
    return bands


#: Kinds that stop a migration until an operator acts, and those that end such a stop.
_HOLDING = frozenset({"paused", "overridden", "awaiting_gate"})
_RELEASING = frozenset({"resumed", "started", "promoted", "rolled_back", "aborted", "completed"})


def paused_bands(events: Sequence[Event], end: float) -> list[Band]:
    """Hatched stretches from a pause (or override, or gate) to what released it (or ``end``)."""
    bands: list[Band] = []
    since: Event | None = None
    for e in events:
        if e.kind in _HOLDING and since is None:
            since = e
        elif e.kind in _RELEASING and since is not None:
            bands.append(Band(since.at, e.at, since.kind.replace("_", " "), "paused"))
            since = None
    if since is not None:
        bands.append(Band(since.at, end, since.kind.replace("_", " "), "paused"))
    return bands


def gap_bands(spans: Sequence[tuple[float, float]]) -> list[Band]:
    """White stretches for the :func:`gaps`."""
    return [Band(a, b, "no evaluations", "gap") for a, b in spans]


def _event_line(e: Event) -> str:
    why = "; ".join(e.reasons) or "no reason recorded"
    return f"{_clock(e.at)} {e.kind.replace('_', ' ')} at {e.weight_bps / 100:g} % — {why}"


def markers(events: Sequence[Event]) -> list[tuple[Marker, Event]]:
    """The events of :data:`MARKED` kinds, numbered from 1 in time order."""
    marked = [e for e in events if e.kind in MARKED]
    return [
        (Marker(e.at, i, MARKED[e.kind], _event_line(e)), e) for i, e in enumerate(marked, start=1)
    ]


def _ms(v: float) -> str:
    return f"{v * 1000:.0f} ms" if v >= 0.01 or v == 0 else f"{v * 1000:.1f} ms"


def _pct(v: float) -> str:
    return f"{v * 100:.1f} %" if v >= 0.001 or v == 0 else f"{v * 100:.2f} %"


def _charts(report: MigrationReport, marks: Sequence[Marker]) -> str:
    snaps = report.snapshots
    if not snaps:
        return "<p class='muted'>No evaluations recorded in this period: nothing to chart.</p>"
    t0 = min([snaps[0].at, *(m.at for m in marks)])
    t1 = max([snaps[-1].at, *(m.at for m in marks)])
    axis = TimeAxis(t0, t1 + max(1.0, (t1 - t0) * 0.01))
    holes = gaps(snaps, _interval(snaps))
    steps = step_bands(snaps, axis.t1)
    plan = report.state.plan if report.state is not None else None
    if plan is not None and plan.steps[0].shadow_only and steps and steps[0].label == "0 %":
        steps[0] = Band(steps[0].start, steps[0].end, "shadow")  # step 1 compares, serves nothing
    bands = [
        *steps,
        *gap_bands(holes),
        *paused_bands(report.events, axis.t1),
    ]

    def pair(get_base: Getter, get_cand: Getter) -> list[Series]:
        return [
            Series("baseline", BASELINE_COLOUR, [(s.at, get_base(s)) for s in snaps]),
            Series("candidate", CANDIDATE_COLOUR, [(s.at, get_cand(s)) for s in snaps]),
        ]

    def chart(title: str, lines: list[Series], fmt: Fmt, top: float | None, least: float) -> str:
        return line_chart(
            title, lines, axis, fmt, bands=bands, markers=marks, gaps=holes, top=top, least=least
        )

    weight = Series("weight", WEIGHT_COLOUR, [(s.at, s.weight_bps / 10_000) for s in snaps], True)
    p95 = pair(lambda s: s.baseline_p95, lambda s: s.candidate_p95)
    errors = pair(lambda s: s.baseline_error_rate, lambda s: s.candidate_error_rate)
    return (
        chart("Candidate weight", [weight], _pct, 1.0, 0.0)
        + chart("p95 latency (each backend's analysis window)", p95, _ms, None, LEAST_P95_S)
        + chart("Error rate (each backend's analysis window)", errors, _pct, None, LEAST_ERROR_RATE)
    )


def _marker_list(marked: Sequence[tuple[Marker, Event]]) -> str:
    if not marked:
        return ""
    items = "".join(
        f'<li><span class="kind" style="color:{m.colour}">{html.escape(e.kind.replace("_", " "))}'
        f"</span> {html.escape(_clock(e.at))} at {e.weight_bps / 100:g} % (step "
        f"{e.step_index + 1}) — {html.escape('; '.join(e.reasons) or 'no reason recorded')}</li>"
        for m, e in marked
    )
    return f'<ol class="markers">{items}</ol>'


def _operation_checks(snaps: Sequence[Snapshot]) -> str:
    """Per ``check[operation]`` over the history: evaluations, failures, the latest numbers."""
    seen: dict[str, list[dict[str, object]]] = {}
    for s in snaps:
        for label, numbers in s.checks.items():
            if "[" in label and isinstance(numbers, dict):
                seen.setdefault(label, []).append(numbers)
    if not seen:
        return ""

    def num(label: str, v: object) -> str:
        if not isinstance(v, int | float):
            return "n/a"
        if "latency" in label:
            return _ms(v)
        return _pct(v) if "error" in label else f"{v:.4g}"

    rows = "".join(
        f"<tr><td>{html.escape(label)}</td><td>{len(runs)}</td>"
        f"<td>{sum(1 for r in runs if r.get('status') == 'fail')}</td>"
        f"<td>{num(label, runs[-1].get('baseline'))} / {num(label, runs[-1].get('candidate'))}</td>"
        f"<td>{num(label, runs[-1].get('threshold'))}</td></tr>"
        for label, runs in sorted(seen.items())
    )
    return (
        "<h2>Per-operation checks over the period</h2><table><tr><th>check[operation]</th>"
        "<th>evaluations</th><th>failed</th><th>latest base / cand</th><th>threshold</th></tr>"
        f"{rows}</table>"
    )


def render_html(report: MigrationReport) -> str:
    """A standalone HTML page: charts of the whole history, markers explained, then the tables."""
    marked = markers(report.events)
    rows = "".join(
        f"<tr><th>{html.escape(a)}</th><td>{html.escape(b)}</td><td>{html.escape(c)}</td></tr>"
        for a, b, c in summary_rows(report)
    )
    factors = "".join(
        f"<tr><th>{html.escape(a)}</th><td>{html.escape(b)}</td><td>{html.escape(c)}</td></tr>"
        for a, b, c in factor_lines(report)
    )
    events = "".join(
        f"<tr><td>{_clock(e.at)}</td><td>{html.escape(e.kind)}</td><td>{e.step_index + 1}</td>"
        f"<td>{e.weight_bps / 100:g} %</td><td>{html.escape('; '.join(e.reasons))}</td></tr>"
        for e in report.events[-200:]
    )
    title = html.escape(report_title(report))
    why = "".join(
        f"<p>{html.escape(line)}</p>"
        for line in (latest_line(report), calibration_line(report))
        if line
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
        f"<style>{_CSS}</style></head><body><h1>{title}</h1>"
        f"<p class='muted'>{html.escape(period_line(report))}</p>{why}"
        f"<h2>Over time</h2>{_charts(report, [m for m, _ in marked])}{_marker_list(marked)}"
        f"<h2>Now: the last {report.window_s:g} s</h2><table><tr><th></th><th>baseline</th>"
        f"<th>candidate</th></tr>{rows}</table>"
        f"<h2>Improvement factors</h2><table>{factors}</table>"
        f"{operations_html(report.operations)}{_operation_checks(report.snapshots)}"
        "<h2>Events</h2><table><tr><th>time</th><th>event</th><th>step</th><th>weight</th>"
        f"<th>reasons</th></tr>{events}</table></body></html>\n"
    )
