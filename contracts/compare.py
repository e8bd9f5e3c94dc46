"""Compare two HTTP responses the way a client would notice a difference.

Shared by ``cutover contracts check``/``replay`` and by the gateway's shadowing, so it is pure
(bytes and headers in, a frozen :class:`Comparison` out), does no I/O and keeps its work
bounded: the number of differences kept is capped, values are rendered and truncated, and
differences that only vary by an array index collapse into one (``$.items[*].id``), which is
also the key the gateway counts by.

Kinds of :class:`Difference`:

- ``value``: same JSON type, different value (also the status code, a header,
  or a non-JSON body hash);
- ``type``: different JSON types (``integer`` and ``number`` are distinct: ``1`` vs ``1.0``);
- ``missing``: present in the primary response, absent from the other; ``extra``: the reverse;
- ``length``: arrays of different lengths; ``order``: same elements, different order (or, with
  ``key_order``, same keys in a different order).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from contracts.jsondiff import (
    IGNORE,
    MAX_DIFFERENCES,
    MAX_VALUE_CHARS,
    UNORDERED,
    Collector,
    Difference,
    DifferenceKind,
    diff_json,
    json_type,
    render,
)
from contracts.jsonpath import NodePath, PathMatcher, compile_patterns

__all__ = [
    "BODY_PATH",
    "HEADER_PREFIX",
    "MAX_DIFFERENCES",
    "MAX_VALUE_CHARS",
    "STATUS_PATH",
    "Comparison",
    "ComparisonRules",
    "Difference",
    "DifferenceKind",
    "ResponseSnapshot",
    "compare_json",
    "compare_responses",
    "json_type",
    "render",
]

STATUS_PATH = "status"
BODY_PATH = "body"
HEADER_PREFIX = "header:"
NOT_JSON = object()


@dataclass(frozen=True)
class ComparisonRules:
    """What to compare: ignored JSON paths, order-insensitive arrays and the header allow-list.

    Patterns are compiled here, so a bad rule fails when the config is loaded, naming the rule.
    """

    ignore_paths: tuple[str, ...] = ()
    unordered_paths: tuple[str, ...] = ()
    headers: tuple[str, ...] = ("content-type",)
    key_order: bool = False
    _matcher: PathMatcher = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ignore_paths", tuple(self.ignore_paths))
        object.__setattr__(self, "unordered_paths", tuple(self.unordered_paths))
        object.__setattr__(self, "headers", tuple(h.lower() for h in self.headers))
        ignore = compile_patterns(self.ignore_paths)
        unordered = compile_patterns(self.unordered_paths)
        labels = [IGNORE] * len(ignore) + [UNORDERED] * len(unordered)
        object.__setattr__(self, "_matcher", PathMatcher([*ignore, *unordered], labels))

    def merge(self, other: ComparisonRules) -> ComparisonRules:
        """Rules that apply both: paths are unioned, ``other``'s headers and key order win."""
        return ComparisonRules(
            ignore_paths=_union(self.ignore_paths, other.ignore_paths),
            unordered_paths=_union(self.unordered_paths, other.unordered_paths),
            headers=other.headers,
            key_order=other.key_order,
        )

    def is_ignored(self, path: NodePath) -> bool:
        """True when ``path`` or one of its ancestors is ignored."""
        state = self._matcher.start
        if IGNORE in self._matcher.groups(state):
            return True
        for step in path:
            state = self._matcher.step(state, step)
            if IGNORE in self._matcher.groups(state):
                return True
        return False

    def is_unordered(self, path: NodePath) -> bool:
        """True when the array at exactly ``path`` is compared as a multiset."""
        state = self._matcher.start
        for step in path:
            state = self._matcher.step(state, step)
        return UNORDERED in self._matcher.groups(state)


@dataclass(frozen=True)
class Comparison:
    """The outcome: the kept differences (first ``MAX_DIFFERENCES``) and how many were dropped."""

    differences: tuple[Difference, ...]
    truncated: int = 0

    @property
    def matched(self) -> bool:
        """True when nothing differed (after the ignore rules)."""
        return not self.differences

    def paths(self) -> tuple[str, ...]:
        """The distinct difference paths, in order of discovery."""
        return tuple(dict.fromkeys(d.path for d in self.differences))


@dataclass(frozen=True)
class ResponseSnapshot:
    """What is compared of a response. Header names are matched case-insensitively."""

    status: int
    headers: Mapping[str, str] | Iterable[tuple[str, str]] = ()
    body: bytes = b""


def compare_responses(
    primary: ResponseSnapshot, other: ResponseSnapshot, rules: ComparisonRules | None = None
) -> Comparison:
    """Compare status, the allow-listed headers and the body (JSON structurally, else by hash)."""
    rules = rules or ComparisonRules()
    out = Collector()
    if primary.status != other.status:
        out.add(STATUS_PATH, "value", str(primary.status), str(other.status))
    p_headers, o_headers = _header_map(primary.headers), _header_map(other.headers)
    for name in rules.headers:
        p_value, o_value = p_headers.get(name), o_headers.get(name)
        if p_value == o_value:
            continue
        kind: DifferenceKind = (
            "missing" if o_value is None else "extra" if p_value is None else "value"
        )
        out.add(HEADER_PREFIX + name, kind, p_value, o_value)
    if primary.body == other.body:  # the common case when shadowing: nothing to parse
        return Comparison(*out.result())
    p_json, o_json = _parse_json(primary.body, p_headers), _parse_json(other.body, o_headers)
    if p_json is not NOT_JSON and o_json is not NOT_JSON:
        diff_json(p_json, o_json, rules._matcher, rules.key_order, out)
    else:
        out.add(BODY_PATH, "value", _digest(primary.body), _digest(other.body))
    return Comparison(*out.result())


def compare_json(primary: Any, other: Any, rules: ComparisonRules | None = None) -> Comparison:
    """Compare two already-decoded JSON values (the body half of :func:`compare_responses`)."""
    out = Collector()
    rules = rules or ComparisonRules()
    diff_json(primary, other, rules._matcher, rules.key_order, out)
    return Comparison(*out.result())


def _header_map(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    result: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower()
        result[key] = f"{result[key]}, {value}" if key in result else value
    return result


def _parse_json(body: bytes, headers: Mapping[str, str]) -> Any:
    content_type = headers.get("content-type", "").lower()
    looks_json = "json" in content_type or (not content_type and body[:1] in (b"{", b"["))
    if not looks_json or not body:
        return NOT_JSON
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return NOT_JSON


def _digest(body: bytes) -> str:
    return f"sha256:{hashlib.sha256(body).hexdigest()[:16]} ({len(body)} bytes)"


def _union(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*a, *b)))
