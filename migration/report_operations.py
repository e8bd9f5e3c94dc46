"""The report's break-down of a route by operation: where in the route a difference lives.

One row per operation the windows hold for the route (:class:`~migration.step_evidence.
OperationSource`; a gateway that classifies nothing has none and the section is left out): both
backends' requests, p95 and error rate over the report's span, and the candidate's p95 against the
baseline's — the number that points at the operation a verdict named.
"""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass
from typing import Any

from migration.operations import op_key
from migration.seams import BASELINE, CANDIDATE, ViewSource
from migration.step_evidence import OperationSource

__all__ = ["OperationRow", "operation_rows", "operations_html", "operations_lines"]


@dataclass(frozen=True)
class OperationRow:
    """One operation of a route over the report's span (seconds, ratios)."""

    operation: str
    baseline_requests: int
    candidate_requests: int
    baseline_p95: float | None
    candidate_p95: float | None
    baseline_error_rate: float | None
    candidate_error_rate: float | None

    @property
    def p95_ratio(self) -> float | None:
        """Candidate p95 / baseline p95 (> 1: the candidate is slower)."""
        if self.baseline_p95 is None or self.candidate_p95 is None or self.baseline_p95 == 0:
            return None
        return self.candidate_p95 / self.baseline_p95

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, with the ratio."""
        return asdict(self) | {"p95_ratio": self.p95_ratio}


def operation_rows(
    metrics: ViewSource, route: str | None, span_s: float
) -> tuple[OperationRow, ...]:
    """The rows of ``route`` (none for all routes together, or a source without operations)."""
    if route is None or not isinstance(metrics, OperationSource):
        return ()
    rows = []
    for operation in metrics.operations(route):
        key = op_key(route, operation)
        base, cand = metrics.window(key, BASELINE, span_s), metrics.window(key, CANDIDATE, span_s)
        rows.append(
            OperationRow(
                operation,
                base.requests,
                cand.requests,
                base.p(0.95),
                cand.p(0.95),
                base.error_rate,
                cand.error_rate,
            )
        )
    return tuple(rows)


def _cells(row: OperationRow) -> list[str]:
    def ms(v: float | None) -> str:
        return "n/a" if v is None else f"{v * 1000:.1f}"

    def pct(v: float | None) -> str:
        return "n/a" if v is None else f"{v * 100:.2f}"

    ratio = "n/a" if row.p95_ratio is None else f"{row.p95_ratio:.2f}x"
    return [
        row.operation,
        f"{row.baseline_requests} / {row.candidate_requests}",
        f"{ms(row.baseline_p95)} / {ms(row.candidate_p95)}",
        ratio,
        f"{pct(row.baseline_error_rate)} / {pct(row.candidate_error_rate)}",
    ]


_HEAD = [
    "operation",
    "requests base / cand",
    "p95 ms base / cand",
    "cand/base p95",
    "errors % b / c",
]


def operations_lines(rows: tuple[OperationRow, ...], markdown: bool) -> list[str]:
    """The section as aligned text or a markdown table (empty without rows)."""
    if not rows:
        return []
    table = [_HEAD, *(_cells(r) for r in rows)]
    if markdown:
        lines = ["", "### By operation", "", "| " + " | ".join(_HEAD) + " |"]
        lines.append("| " + " | ".join("---" for _ in _HEAD) + " |")
        return lines + ["| " + " | ".join(cells) + " |" for cells in table[1:]]
    widths = [max(len(r[i]) for r in table) for i in range(len(_HEAD))]
    return ["", "by operation:"] + [
        "  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)) for r in table
    ]


def operations_html(rows: tuple[OperationRow, ...]) -> str:
    """The section as an HTML table (empty without rows)."""
    if not rows:
        return ""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in _HEAD)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in _cells(r)) + "</tr>" for r in rows
    )
    return f"<h2>By operation</h2><table><tr>{head}</tr>{body}</table>"
