"""Keyword-level rules: nullability, enums and numeric/length bounds, judged per direction.

Split from :mod:`contracts.diff.schemas` (which walks the schema tree) because each rule here looks at
one keyword of one node: a request constraint that *narrows* rejects inputs that used to work (ERR), a
response constraint that *widens* lets through values clients never saw (WARN), and the reverse is
harmless (INFO).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from contracts.diff.resolve import FlatSchema
from contracts.report import Severity

Direction = Literal["request", "response"]
#: Emit one finding: severity, rule id, JSON path of the node (``$.items[*].id``), message.
Emit = Callable[[Severity, str, str, str], None]

# Keywords whose *larger* value accepts more, and those whose *smaller* value does.
_UPPER_BOUNDS = ("maxLength", "maxItems", "maxProperties", "maximum", "exclusiveMaximum")
_LOWER_BOUNDS = ("minLength", "minItems", "minProperties", "minimum", "exclusiveMinimum")


def compare_nullable(
    base: FlatSchema, rev: FlatSchema, request: bool, where: str, emit: Emit
) -> None:
    if base.nullable == rev.nullable:
        return
    if request:
        if base.nullable:
            emit(Severity.ERR, "request-nullable-removed", where, "null is no longer accepted")
        else:
            emit(Severity.INFO, "request-nullable-added", where, "null is now accepted")
    elif rev.nullable:
        emit(Severity.ERR, "response-nullable-added", where, "the value may now be null")
    else:
        emit(Severity.INFO, "response-nullable-removed", where, "the value is no longer null")


def compare_enum(
    base: dict[str, Any],
    rev: dict[str, Any],
    request: bool,
    where: str,
    emit: Emit,
    direction: Direction,
) -> None:
    base_enum, rev_enum = base.get("enum"), rev.get("enum")
    if not isinstance(base_enum, list) and not isinstance(rev_enum, list):
        return
    if not isinstance(rev_enum, list):
        if not request:
            emit(Severity.WARN, "response-enum-removed", where, "the value is no longer an enum")
        return
    if not isinstance(base_enum, list):
        if request:
            emit(
                Severity.ERR,
                "request-enum-added",
                where,
                f"only {show(rev_enum)} are accepted now",
            )
        return
    removed = [v for v in base_enum if v not in rev_enum]
    added = [v for v in rev_enum if v not in base_enum]
    if removed:
        severity = Severity.ERR if request else Severity.INFO
        emit(
            severity,
            f"{direction}-enum-value-removed",
            where,
            f"enum value(s) removed: {show(removed)}",
        )
    if added:
        severity = Severity.INFO if request else Severity.WARN
        emit(
            severity, f"{direction}-enum-value-added", where, f"enum value(s) added: {show(added)}"
        )


def compare_bounds(
    base: dict[str, Any],
    rev: dict[str, Any],
    request: bool,
    where: str,
    emit: Emit,
    direction: Direction,
) -> None:
    for key in (*_UPPER_BOUNDS, *_LOWER_BOUNDS):
        old, new = base.get(key), rev.get(key)
        if old == new or isinstance(old, bool) or isinstance(new, bool):
            continue
        upper = key in _UPPER_BOUNDS
        if old is None:
            narrowed = True
        elif new is None:
            narrowed = False
        else:
            narrowed = new < old if upper else new > old
        # A narrower request constraint rejects inputs that used to work; a wider response
        # constraint lets through values clients never saw.
        if narrowed == request:
            severity = Severity.ERR if request else Severity.WARN
            verb = "narrowed" if request else "widened"
        else:
            severity, verb = Severity.INFO, "widened" if request else "narrowed"
        emit(
            severity,
            f"{direction}-constraint-{verb}",
            where,
            f"{key} changed from {show(old)} to {show(new)}",
        )
    if base.get("pattern") != rev.get("pattern") and rev.get("pattern") is not None and request:
        emit(
            Severity.WARN,
            "request-pattern-changed",
            where,
            f"pattern changed from {show(base.get('pattern'))} to {show(rev.get('pattern'))}",
        )


def show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:79] + "…"
