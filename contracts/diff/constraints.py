"""Keyword-level rules: nullability, enums, const, bounds, pattern, format, default.

Split from :mod:`contracts.diff.schemas` (which walks the schema tree) because each rule here looks
at one keyword of one node. Each rule reports a *kind* that says which way the set of valid values
moved (``max-length-decreased``, ``enum-value-added``); whether that breaks anyone depends on the
side, and the catalogue (:mod:`contracts.diff.rules`) holds that verdict: a request that narrows
rejects inputs that used to work, a response that widens sends values clients never saw.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from contracts.diff.resolve import FlatSchema
from contracts.diff.rules import LOWER_BOUNDS, UPPER_BOUNDS, kebab

Direction = Literal["request", "response"]
#: Where a node sits below the schema being compared: object keys, ``None`` for "an array element".
Where = tuple[str | None, ...]
#: Report one change: kind (``enum-value-removed``), path of the node, message.
Emit = Callable[[str, Where, str], None]

_MISSING = object()


def compare_nullable(base: FlatSchema, rev: FlatSchema, where: Where, emit: Emit) -> None:
    """Null admitted or refused: the same kinds on both sides, judged per side by the catalogue."""
    if base.nullable and not rev.nullable:
        emit("nullable-removed", where, "null is no longer a valid value")
    elif rev.nullable and not base.nullable:
        emit("nullable-added", where, "null is now a valid value")


def compare_enum(base: dict[str, Any], rev: dict[str, Any], where: Where, emit: Emit) -> None:
    """``enum`` and Zalando's ``x-extensible-enum`` (values may grow; clients must cope)."""
    base_enum, rev_enum = base.get("enum"), rev.get("enum")
    if isinstance(base_enum, list) and not isinstance(rev_enum, list):
        emit("enum-removed", where, "the value is no longer restricted to an enum")
    elif isinstance(rev_enum, list) and not isinstance(base_enum, list):
        emit("enum-added", where, f"only {show(rev_enum)} are valid now")
    elif isinstance(base_enum, list) and isinstance(rev_enum, list):
        _compare_values(base_enum, rev_enum, "enum-value", where, emit)
    base_ext, rev_ext = base.get("x-extensible-enum"), rev.get("x-extensible-enum")
    if isinstance(base_ext, list) and isinstance(rev_ext, list):
        _compare_values(base_ext, rev_ext, "extensible-enum-value", where, emit)


def _compare_values(old: list[Any], new: list[Any], kind: str, where: Where, emit: Emit) -> None:
    removed = [v for v in old if v not in new]
    added = [v for v in new if v not in old]
    if removed:
        emit(f"{kind}-removed", where, f"value(s) removed: {show(removed)}")
    if added:
        emit(f"{kind}-added", where, f"value(s) added: {show(added)}")


def compare_const(base: dict[str, Any], rev: dict[str, Any], where: Where, emit: Emit) -> None:
    """``const`` pins one value (JSON Schema 2020-12, OpenAPI 3.1)."""
    old, new = base.get("const", _MISSING), rev.get("const", _MISSING)
    if old is _MISSING and new is not _MISSING:
        emit("const-added", where, f"only {show(new)} is valid now")
    elif new is _MISSING and old is not _MISSING:
        emit("const-removed", where, f"const {show(old)} dropped")
    elif old != new:
        emit("const-changed", where, f"const changed from {show(old)} to {show(new)}")


def compare_bounds(base: dict[str, Any], rev: dict[str, Any], where: Where, emit: Emit) -> None:
    """Numeric, length, size and ``contains`` bounds; an added bound narrows from infinity."""
    for key in (*UPPER_BOUNDS, *LOWER_BOUNDS):
        old, new = base.get(key), rev.get(key)
        if old == new or not all(v is None or _number(v) for v in (old, new)):
            continue
        upper = key in UPPER_BOUNDS
        if old is None:
            increased = not upper
        elif new is None:
            increased = upper
        else:
            increased = new > old
        kind = f"{kebab(key)}-{'increased' if increased else 'decreased'}"
        emit(kind, where, f"{key} changed from {show(old)} to {show(new)}")
    _compare_multiple_of(base.get("multipleOf"), rev.get("multipleOf"), where, emit)
    if base.get("uniqueItems") is True and rev.get("uniqueItems") is not True:
        emit("unique-items-removed", where, "items may now repeat")
    elif rev.get("uniqueItems") is True and base.get("uniqueItems") is not True:
        emit("unique-items-added", where, "items must now be unique")


def _compare_multiple_of(old: Any, new: Any, where: Where, emit: Emit) -> None:
    """Multiples of 4 are multiples of 2: a new factor that the old one divides narrows."""
    if old == new or not all(v is None or (_number(v) and v > 0) for v in (old, new)):
        return
    message = f"multipleOf changed from {show(old)} to {show(new)}"
    if old is None or (new is not None and _divides(old, new)):
        emit("multiple-of-narrowed", where, message)
    elif new is None or _divides(new, old):
        emit("multiple-of-widened", where, message)
    else:
        emit("multiple-of-changed", where, message)


def _divides(factor: float, value: float) -> bool:
    ratio = value / factor
    return abs(ratio - round(ratio)) < 1e-9


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def compare_text(
    base: dict[str, Any], rev: dict[str, Any], direction: Direction, where: Where, emit: Emit
) -> None:
    """``pattern``, ``format`` and (request side only) ``default``."""
    for key, name in (("pattern", "pattern"), ("format", "format")):
        old, new = base.get(key), rev.get(key)
        if old == new:
            continue
        if old is None:
            emit(f"{name}-added", where, f"{key} {show(new)} added")
        elif new is None:
            emit(f"{name}-removed", where, f"{key} {show(old)} dropped")
        else:
            emit(f"{name}-changed", where, f"{key} changed from {show(old)} to {show(new)}")
    if direction != "request":
        return  # a default describes what the server assumes when a client omits the value
    old_default, new_default = base.get("default", _MISSING), rev.get("default", _MISSING)
    if old_default == new_default:
        return
    if old_default is _MISSING:
        emit("default-added", where, f"default {show(new_default)} documented")
    elif new_default is _MISSING:
        emit("default-removed", where, f"default {show(old_default)} dropped")
    else:
        emit(
            "default-changed",
            where,
            f"default changed from {show(old_default)} to {show(new_default)}: clients that omit "
            "the value get a different behaviour",
        )


def show(value: Any) -> str:
    """A short repr for messages."""
    text = repr(value)
    return text if len(text) <= 80 else text[:79] + "…"
