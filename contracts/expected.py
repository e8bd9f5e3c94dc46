"""Expected differences: response changes the contract diff documented, for shadow comparison.

``cutover contracts diff BASELINE CANDIDATE --expect-file OUT`` writes, for every response-body
finding between the baseline's and the candidate's specs (a property removed, a type changed, an
enum value added …), the operation, the status and the JSON path. A route whose ``shadow:`` block
names that file (``expected_differences: OUT``) then counts a shadow whose only differences lie at
those paths — for that operation and status — as ``expected`` instead of ``mismatched``; a
difference anywhere else still counts. A change the candidate's spec documents is a decision; an
undocumented one is a regression, and the migration analysis should only see the second.

Only body paths are taken: status and media-type changes stay mismatches (the shadow comparison
always treats status and header differences as real), and the diff's path notation
(``$.items[*].title``) is the comparison's normalised one, so a difference at the path or below it
(``$.owner`` covers ``$.owner.name``) is expected. The file is JSON, written and read only here, so
its schema is declared once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contracts.compare import Comparison
from contracts.report import Finding

FORMAT = "cutover-expected-differences/1"
_BODY_LOCATION = re.compile(r"^response (\S+) (\$.*)$")
_PARAM = re.compile(r"\{[^}/]*\}")


class ExpectedFileError(ValueError):
    """The expected-differences file cannot be used; the message names the file and entry."""


@dataclass(frozen=True)
class ExpectedDifference:
    """One documented change: ``GET /tasks/{id}`` answering ``200`` differs at ``$.title``."""

    operation: str
    status: str
    path: str
    rule: str = ""

    def covers(self, path: str) -> bool:
        """The difference at ``path`` is this change (the path itself or below it)."""
        return path == self.path or path.startswith((self.path + ".", self.path + "["))

    def applies_to(self, status: int) -> bool:
        """``200`` matches 200, ``2XX`` any 2xx, ``default`` any status."""
        code = self.status.upper()
        if code == "DEFAULT":
            return True
        if len(code) == 3 and code.endswith("XX"):
            return str(status).startswith(code[0])
        return code == str(status)


@dataclass(frozen=True)
class ExpectedDifferences:
    """All documented changes, indexed by method and path template for per-request lookup."""

    entries: tuple[ExpectedDifference, ...] = ()
    source: str = ""
    _index: tuple[tuple[str, re.Pattern[str], ExpectedDifference], ...] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        index = []
        for entry in self.entries:
            method, _, template = entry.operation.partition(" ")
            index.append((method.upper(), _template(template), entry))
        object.__setattr__(self, "_index", tuple(index))

    def __bool__(self) -> bool:
        return bool(self.entries)

    def for_request(self, method: str, target: str, status: int) -> tuple[ExpectedDifference, ...]:
        """The changes expected in a response to ``method target`` with ``status``."""
        path = target.split("?", 1)[0]
        method = method.upper()
        return tuple(
            entry
            for m, pattern, entry in self._index
            if m == method and entry.applies_to(status) and pattern.fullmatch(path)
        )

    def split(
        self, comparison: Comparison, method: str, target: str, status: int
    ) -> tuple[Comparison, int]:
        """The comparison without its expected differences, and how many were expected."""
        expected = self.for_request(method, target, status)
        if not expected or not comparison.differences:
            return comparison, 0
        left = tuple(
            d for d in comparison.differences if not any(e.covers(d.path) for e in expected)
        )
        return Comparison(left, comparison.truncated), len(comparison.differences) - len(left)


def _template(path: str) -> re.Pattern[str]:
    """``/tasks/{task_id}`` → a pattern matching one non-empty segment per parameter."""
    parts = _PARAM.split(path)
    return re.compile("[^/]+".join(re.escape(part) for part in parts))


def from_findings(findings: Iterable[Finding]) -> ExpectedDifferences:
    """The response-body findings of a diff as expected differences (others are left out)."""
    entries: dict[tuple[str, str, str], ExpectedDifference] = {}
    for finding in findings:
        match = _BODY_LOCATION.match(finding.location)
        if match is None or " " not in finding.subject:
            continue
        entry = ExpectedDifference(finding.subject, match[1], match[2], finding.rule)
        entries.setdefault((entry.operation, entry.status, entry.path), entry)
    return ExpectedDifferences(tuple(entries.values()))


def to_json(expected: ExpectedDifferences, base: str = "", revision: str = "") -> str:
    """The file ``--expect-file`` writes."""
    doc = {
        "format": FORMAT,
        "base": base,
        "revision": revision,
        "expected": [
            {"operation": e.operation, "status": e.status, "path": e.path, "rule": e.rule}
            for e in expected.entries
        ],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def parse_expected(data: Any, source: str) -> ExpectedDifferences:
    """Check and read a parsed file; errors name ``source``, the entry (from 1) and the field."""
    if not isinstance(data, Mapping) or data.get("format") != FORMAT:
        raise ExpectedFileError(
            f"{source}: not an expected-differences file (want format {FORMAT!r}; "
            "write one with `cutover contracts diff --expect-file`)"
        )
    items = data.get("expected")
    if not isinstance(items, list):
        raise ExpectedFileError(f"{source}: 'expected' must be a list")
    entries = []
    for number, item in enumerate(items, start=1):
        values = {}
        for name in ("operation", "status", "path"):
            value = item.get(name) if isinstance(item, Mapping) else None
            if not isinstance(value, str) or not value:
                raise ExpectedFileError(f"{source}: entry {number}: {name!r} must be a string")
            values[name] = value
        if not values["path"].startswith("$") or " " not in values["operation"]:
            raise ExpectedFileError(
                f"{source}: entry {number}: want an operation 'METHOD /path' and a path '$…'"
            )
        entries.append(ExpectedDifference(rule=str(item.get("rule", "")), **values))
    return ExpectedDifferences(tuple(entries), source)


def load_expected(path: str) -> ExpectedDifferences:
    """Read and check the file at ``path``."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ExpectedFileError(f"cannot read {path}: {exc}") from exc
    return parse_expected(data, path)
