"""The response comparison engine shared by check, replay and the gateway's shadowing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from contracts.compare import (
    MAX_DIFFERENCES,
    ComparisonRules,
    Difference,
    ResponseSnapshot,
    compare_json,
    compare_responses,
)
from contracts.jsonpath import PathPattern, PathSyntaxError

JSON = {"content-type": "application/json"}


def snap(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> ResponseSnapshot:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return ResponseSnapshot(status, headers if headers is not None else JSON, raw)


def kinds(primary: Any, other: Any, rules: ComparisonRules | None = None) -> set[tuple[str, str]]:
    return {(d.path, d.kind) for d in compare_json(primary, other, rules).differences}


def test_identical_responses_match() -> None:
    """Equal status, content-type and JSON body give no differences."""
    result = compare_responses(snap({"a": [1, 2]}), snap({"a": [1, 2]}))
    assert result.matched
    assert result.differences == ()


def test_json_is_compared_structurally_not_textually() -> None:
    """Whitespace and key order in the raw bytes do not count as differences."""
    a = ResponseSnapshot(200, JSON, b'{"a": 1, "b": 2}')
    b = ResponseSnapshot(200, JSON, b'{"b":2,"a":1}')
    assert compare_responses(a, b).matched


def test_status_difference_is_reported() -> None:
    """A different status code is a value difference at path ``status``."""
    result = compare_responses(snap({}, 200), snap({}, 500))
    assert result.differences == (Difference("status", "value", "200", "500"),)


def test_content_type_is_compared_by_default_and_other_headers_are_not() -> None:
    """Only allow-listed headers count; content-type is the default list."""
    a = snap({}, headers={"Content-Type": "application/json", "date": "x"})
    b = snap({}, headers={"content-type": "application/json; charset=utf-8", "date": "y"})
    diffs = compare_responses(a, b).differences
    assert [(d.path, d.kind) for d in diffs] == [("header:content-type", "value")]


def test_header_missing_on_other_side() -> None:
    """A header only the primary sends is ``missing``; with a custom allow-list."""
    rules = ComparisonRules(headers=("X-Thing",))
    a = snap({}, headers={**JSON, "x-thing": "1"})
    diffs = compare_responses(a, snap({}), rules).differences
    assert [(d.path, d.kind, d.primary, d.other) for d in diffs] == [
        ("header:x-thing", "missing", "1", None)
    ]


@pytest.mark.parametrize(
    ("primary", "other", "expected"),
    [
        ({"a": 1}, {"a": 2}, {("$.a", "value")}),
        ({"a": 1}, {"a": "1"}, {("$.a", "type")}),
        ({"a": 1}, {"a": 1.0}, {("$.a", "type")}),
        ({"a": True}, {"a": 1}, {("$.a", "type")}),
        ({"a": 1}, {}, {("$.a", "missing")}),
        ({}, {"a": 1}, {("$.a", "extra")}),
        ({"a": None}, {"a": 0}, {("$.a", "type")}),
        ([1, 2, 3], [1, 2], {("$", "length")}),
        ([1, 2, 3], [3, 2, 1], {("$", "order")}),
        ({"x y": 1}, {"x y": 2}, {("$['x y']", "value")}),
        (
            {"items": [{"id": 1}, {"id": 2}]},
            {"items": [{"id": 9}, {"id": 8}]},
            {("$.items[*].id", "value")},
        ),
    ],
)
def test_difference_kinds_and_normalised_paths(
    primary: Any, other: Any, expected: set[tuple[str, str]]
) -> None:
    """Each kind of difference is detected at a path with array indexes normalised to [*]."""
    assert kinds(primary, other) == expected


def test_repeated_differences_collapse_per_path_and_kind() -> None:
    """Differences at several indexes of one array are reported once, as ``[*]``."""
    result = compare_json([{"id": i} for i in range(10)], [{"id": -i - 1} for i in range(10)])
    assert len(result.differences) == 1
    assert result.differences[0].path == "$[*].id"


@pytest.mark.parametrize(
    "rule",
    ["$.items[*].id", "$..id", "$.items[*]", "$.items", "$.*[*].id", "$['items'][0].id"],
)
def test_ignore_rules_by_json_path(rule: str) -> None:
    """Ignored paths (and everything below them) are not compared."""
    a = {"items": [{"id": 1, "name": "x"}], "total": 1}
    b = {"items": [{"id": 2, "name": "x"}], "total": 1}
    assert compare_json(a, b, ComparisonRules(ignore_paths=(rule,))).matched


def test_recursive_descent_ignores_at_every_depth() -> None:
    """``$..created_at`` ignores the field at the top and in nested arrays."""
    a = {"created_at": "1", "items": [{"created_at": "2", "n": 1}]}
    b = {"created_at": "3", "items": [{"created_at": "4", "n": 2}]}
    rules = ComparisonRules(ignore_paths=("$..created_at",))
    assert kinds(a, b, rules) == {("$.items[*].n", "value")}


def test_ignore_does_not_hide_siblings() -> None:
    """Ignoring ``$.a.b`` still reports a difference at ``$.a.c``."""
    rules = ComparisonRules(ignore_paths=("$.a.b",))
    assert kinds({"a": {"b": 1, "c": 1}}, {"a": {"b": 2, "c": 2}}, rules) == {("$.a.c", "value")}


def test_unordered_arrays_compare_as_multisets() -> None:
    """An order-insensitive array matches in any order, honouring ignores inside elements."""
    rules = ComparisonRules(ignore_paths=("$.tags[*].at",), unordered_paths=("$.tags",))
    a = {"tags": [{"n": "a", "at": 1}, {"n": "b", "at": 2}]}
    b = {"tags": [{"n": "b", "at": 7}, {"n": "a", "at": 9}]}
    assert compare_json(a, b, rules).matched


def test_unordered_arrays_still_report_real_differences() -> None:
    """A multiset mismatch is reported inside the unmatched elements and as length/extra."""
    rules = ComparisonRules(unordered_paths=("$",))
    assert kinds([1, 2, 2], [2, 1, 3], rules) == {("$[*]", "value")}
    assert kinds([1, 2], [2, 1, 1], rules) == {("$", "length"), ("$[*]", "extra")}


def test_key_order_is_checked_only_when_asked() -> None:
    """Same keys in another order differ only with ``key_order``."""
    a, b = {"a": 1, "b": 2}, {"b": 2, "a": 1}
    assert compare_json(a, b).matched
    assert kinds(a, b, ComparisonRules(key_order=True)) == {("$", "order")}


def test_non_json_bodies_are_compared_by_hash() -> None:
    """Text bodies differing produce one ``body`` difference with short digests."""
    text = {"content-type": "text/plain"}
    diffs = compare_responses(
        snap(b"hello", headers=text), snap(b"hullo", headers=text)
    ).differences
    assert len(diffs) == 1
    assert diffs[0].path == "body"
    assert diffs[0].primary is not None
    assert diffs[0].primary.startswith("sha256:")
    assert "(5 bytes)" in diffs[0].primary
    assert compare_responses(snap(b"same", headers=text), snap(b"same", headers=text)).matched


def test_invalid_json_falls_back_to_hash() -> None:
    """A body labelled JSON that does not parse is compared by hash instead of crashing."""
    diffs = compare_responses(snap(b"{broken"), snap(b"{"), None).differences
    assert [d.path for d in diffs] == ["body"]


def test_values_are_truncated() -> None:
    """Long values are cut so differences stay small."""
    diff = compare_json({"a": "x" * 1000}, {"a": "y"}).differences[0]
    assert diff.primary is not None
    assert len(diff.primary) <= 120
    assert diff.primary.endswith("…")


def test_number_of_differences_is_bounded() -> None:
    """At most MAX_DIFFERENCES are kept; the rest are counted as truncated."""
    a = {f"k{i}": i for i in range(MAX_DIFFERENCES + 7)}
    b = {f"k{i}": -i - 1 for i in range(MAX_DIFFERENCES + 7)}
    result = compare_json(a, b)
    assert len(result.differences) == MAX_DIFFERENCES
    assert result.truncated == 7


def test_bad_rule_path_fails_at_construction_naming_it() -> None:
    """A rule outside the supported JSONPath subset is rejected when the rules are built."""
    with pytest.raises(PathSyntaxError, match=r"items\[\?"):
        ComparisonRules(ignore_paths=("$.items[?(@.x)]",))
    with pytest.raises(PathSyntaxError, match="must start"):
        PathPattern.parse("items")


def test_rules_merge_unions_paths() -> None:
    """Merging route rules into global ones keeps both sets of paths."""
    merged = ComparisonRules(ignore_paths=("$.a",)).merge(ComparisonRules(ignore_paths=("$.b",)))
    assert merged.ignore_paths == ("$.a", "$.b")
    assert compare_json({"a": 1, "b": 1, "c": 1}, {"a": 2, "b": 2, "c": 1}, merged).matched


def test_rules_and_results_are_frozen() -> None:
    """Rules, differences and results are immutable values."""
    rules = ComparisonRules()
    with pytest.raises(AttributeError):
        rules.headers = ()  # type: ignore[misc]
    assert hash(Difference("$", "value", "1", "2"))
