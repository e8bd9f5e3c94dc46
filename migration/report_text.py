"""The report as text: the lines every renderer shares, and the ``table`` and ``markdown`` forms.

Both open with the newest evaluation's decision and reasons (the current why), then the live
numbers, the improvement factors with their one-line notes, and the per-operation windows;
markdown adds the latest events. :mod:`migration.report_html` builds on the same lines.
"""

from __future__ import annotations

import time

from migration.report_data import MigrationReport
from migration.report_operations import operations_lines
from migration.seams import BASELINE, CANDIDATE
from migration.why import current_why

__all__ = [
    "calibration_line",
    "factor_lines",
    "fmt_value",
    "latest_line",
    "period_line",
    "render_markdown",
    "render_table",
    "report_title",
    "summary_rows",
]


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
    A route whose phase has its own wording (rolled back, aborted, completed, paused) is explained
    by it, as ``cutover status`` does (:mod:`migration.why`); a past migration (``--migration``) by
    its own last evaluation.
    """
    state = report.state
    if (
        state is not None
        and report.migration_id in (None, state.migration_id)
        and (
            why := current_why(
                state, report.events, report.snapshots[-1] if report.snapshots else None
            )
        )
        and why["source"] == "event"
    ):
        return f"now: {why['text']}"
    if not report.snapshots:
        return None
    s = report.snapshots[-1]
    age = max(0.0, report.generated_at - s.at)
    why_text = "; ".join(s.reasons) or "no reasons recorded"
    return f"latest evaluation ({age:.0f} s before this report): {s.decision} — {why_text}"


def period_line(report: MigrationReport) -> str:
    """What history the report covers: from when, how many evaluations and events."""
    snaps, events = report.snapshots, report.events
    times = [s.at for s in snaps] + [e.at for e in events]
    if not times:
        return "No history recorded in this period."
    start = report.since if report.since is not None else min(times)
    end = report.until if report.until is not None else report.generated_at
    minutes = (end - start) / 60
    which = f"Migration {report.migration_id}: history" if report.migration_id else "History"
    return (
        f"{which} from {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(start))} UTC to "
        f"{time.strftime('%H:%M:%S', time.gmtime(end))} ({minutes:.0f} min): "
        f"{len(snaps)} evaluations, {len(events)} events. Times are UTC."
    )


def render_table(report: MigrationReport) -> str:
    """Aligned plain text for a terminal."""
    latest, calibration = latest_line(report), calibration_line(report)
    lines = [
        report_title(report),
        *([latest] if latest else []),
        *([calibration] if calibration else []),
        period_line(report),
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
    lines += [period_line(report), ""]
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
