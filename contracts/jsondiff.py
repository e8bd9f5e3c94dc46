"""Structural diff of two decoded JSON values, driven by compiled path rules.

The walk behind :func:`contracts.compare.compare_json`: it carries a :class:`PathMatcher` state
down the tree so ignore and order-insensitivity rules cost a dictionary lookup per node, stops at
ignored nodes, and collapses repeats of one (normalised path, kind) into one :class:`Difference`.
Exact equality is checked first by orjson in C (``1``, ``1.0`` and ``true`` stay distinct), so
equal bodies cost almost nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from contracts.jsonpath import MatchState, NodePath, PathMatcher, format_path

DifferenceKind = Literal["value", "type", "missing", "extra", "order", "length"]

#: Rendered values longer than this are cut, so differences stay cheap to keep and log.
MAX_VALUE_CHARS = 120
#: Differences kept per comparison; the rest are counted in ``Comparison.truncated``.
MAX_DIFFERENCES = 50

IGNORE = "ignore"
UNORDERED = "unordered"


@dataclass(frozen=True)
class Difference:
    """One observed difference: where (normalised path), what kind, and both values rendered."""

    path: str
    kind: DifferenceKind
    primary: str | None
    other: str | None

    def describe(self) -> str:
        """One line for reports: ``$.total: value 3 != 4``."""
        return f"{self.path}: {self.kind} {self.primary or '-'} != {self.other or '-'}"


def json_type(value: Any) -> str:
    """The JSON Schema type name of a decoded value (``bool`` is never ``integer``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def render(value: Any, limit: int = MAX_VALUE_CHARS) -> str:
    """Compact JSON text of ``value``, cut to ``limit`` characters with an ellipsis."""
    try:
        text = orjson.dumps(value).decode()
    except TypeError:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Collector:
    """Accumulates differences, collapsing repeats of (path, kind) and capping the total."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Difference] = {}
        self.dropped = 0

    def add(self, path: str, kind: DifferenceKind, primary: str | None, other: str | None) -> None:
        key = (path, kind)
        if key in self.items:
            return
        if len(self.items) >= MAX_DIFFERENCES:
            self.dropped += 1
            return
        self.items[key] = Difference(path, kind, primary, other)

    def add_values(self, path: NodePath, kind: DifferenceKind, primary: Any, other: Any) -> None:
        self.add(format_path(path), kind, _maybe(primary), _maybe(other))

    def merge(self, other: Collector) -> None:
        for diff in other.items.values():
            self.add(diff.path, diff.kind, diff.primary, diff.other)
        self.dropped += other.dropped

    def result(self) -> tuple[tuple[Difference, ...], int]:
        """The kept differences and how many were dropped."""
        return tuple(self.items.values()), self.dropped


_ABSENT = object()
_NOT_JSON = object()


def _maybe(value: Any) -> str | None:
    return None if value is _ABSENT else render(value)


class Walk:
    """One traversal: the rules' matcher plus the collector; the state tracks the current node."""

    def __init__(self, matcher: PathMatcher, key_order: bool, out: Collector) -> None:
        self.matcher = matcher
        self.key_order = key_order
        self.out = out

    def ignored(self, state: MatchState) -> bool:
        return IGNORE in self.matcher.groups(state)

    def node(self, a: Any, b: Any, path: NodePath, state: MatchState) -> None:
        if self.ignored(state):
            return
        ta, tb = json_type(a), json_type(b)
        if ta != tb:
            self.out.add_values(path, "type", a, b)
        elif ta == "object":
            self.obj(a, b, path, state)
        elif ta == "array":
            self.array(a, b, path, state)
        elif a != b:
            self.out.add_values(path, "value", a, b)

    def obj(self, a: dict[str, Any], b: dict[str, Any], path: NodePath, state: MatchState) -> None:
        step = self.matcher.step
        for key, value in a.items():
            child = step(state, key)
            if key in b:
                self.node(value, b[key], (*path, key), child)
            elif not self.ignored(child):
                self.out.add_values((*path, key), "missing", value, _ABSENT)
        for key, value in b.items():
            if key not in a and not self.ignored(step(state, key)):
                self.out.add_values((*path, key), "extra", _ABSENT, value)
        if self.key_order:
            a_keys = [k for k in a if k in b and not self.ignored(step(state, k))]
            b_keys = [k for k in b if k in a and not self.ignored(step(state, k))]
            if a_keys != b_keys:
                self.out.add_values(path, "order", a_keys, b_keys)

    def array(self, a: list[Any], b: list[Any], path: NodePath, state: MatchState) -> None:
        element = (*path, None)
        child = self.matcher.step(state, None)
        if self.ignored(child):
            if len(a) != len(b):
                self.out.add_values(path, "length", len(a), len(b))
            return
        if UNORDERED in self.matcher.groups(state):
            self.multiset(a, b, path, state)
            return
        if len(a) != len(b):
            self.out.add_values(path, "length", len(a), len(b))
            for x, y in zip(a, b, strict=False):
                self.node(x, y, element, child)
            return
        # Compare in order first (cheap when equal); only when that finds differences is it
        # worth checking whether the arrays hold the same elements in another order.
        sub = Collector()
        inner = Walk(self.matcher, self.key_order, sub)
        for x, y in zip(a, b, strict=True):
            inner.node(x, y, element, child)
        if not sub.items and not sub.dropped:
            return
        if len(a) > 1:
            keys_a = [self.canonical(x, child) for x in a]
            keys_b = [self.canonical(y, child) for y in b]
            if Counter(keys_a) == Counter(keys_b):
                self.out.add_values(path, "order", a, b)
                return
        self.out.merge(sub)

    def multiset(self, a: list[Any], b: list[Any], path: NodePath, state: MatchState) -> None:
        element = (*path, None)
        child = self.matcher.step(state, None)
        if len(a) != len(b):
            self.out.add_values(path, "length", len(a), len(b))
        remaining = Counter(self.canonical(y, child) for y in b)
        unmatched_a = []
        for x in a:
            key = self.canonical(x, child)
            if remaining[key] > 0:
                remaining[key] -= 1
            else:
                unmatched_a.append(x)
        unmatched_b = []
        for y in reversed(b):
            key = self.canonical(y, child)
            if remaining[key] > 0:
                remaining[key] -= 1
                unmatched_b.append(y)
        unmatched_b.reverse()
        # Pair leftovers up to show *what* differs inside them; surplus ones are missing/extra.
        for x, y in zip(unmatched_a, unmatched_b, strict=False):
            self.node(x, y, element, child)
        for x in unmatched_a[len(unmatched_b) :]:
            self.out.add_values(element, "missing", x, _ABSENT)
        for y in unmatched_b[len(unmatched_a) :]:
            self.out.add_values(element, "extra", _ABSENT, y)

    def canonical(self, value: Any, state: MatchState) -> bytes:
        """Hashable form of ``value`` with ignored sub-paths removed and keys sorted."""
        return orjson.dumps(self.strip(value, state), option=orjson.OPT_SORT_KEYS)

    def strip(self, value: Any, state: MatchState) -> Any:
        if isinstance(value, dict):
            out = {}
            for k, v in value.items():
                child = self.matcher.step(state, k)
                if not self.ignored(child):
                    out[k] = self.strip(v, child)
            return out
        if isinstance(value, list):
            child = self.matcher.step(state, None)
            if self.ignored(child):
                return len(value)
            items = [self.strip(v, child) for v in value]
            if UNORDERED in self.matcher.groups(state):
                items.sort(key=lambda v: orjson.dumps(v, option=orjson.OPT_SORT_KEYS))
            return items
        if isinstance(value, float):
            return ["float", value]  # keep 1.0 and 1 apart, as the walk does
        return value


def diff_json(a: Any, b: Any, matcher: PathMatcher, key_order: bool, out: Collector) -> None:
    """Add the differences between ``a`` and ``b`` to ``out``."""
    if _same(a, b, key_order):
        return
    Walk(matcher, key_order, out).node(a, b, (), matcher.start)


def _same(a: Any, b: Any, key_order: bool) -> bool:
    """Exact equality (types included: ``1``, ``1.0`` and ``true`` differ), done in C by orjson."""
    option = 0 if key_order else orjson.OPT_SORT_KEYS
    try:
        return bool(orjson.dumps(a, option=option) == orjson.dumps(b, option=option))
    except TypeError:
        return False
