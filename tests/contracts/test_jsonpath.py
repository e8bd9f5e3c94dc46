"""The JSONPath subset used by comparison rules: parsing, rendering, incremental matching."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import contracts.compare
from contracts.jsonpath import NodePath, PathMatcher, PathPattern, PathSyntaxError, format_path

KEYS = ["a", "b", "id", "x y"]
PATTERNS = [
    "$",
    "$.a",
    "$.a.b",
    "$..id",
    "$..a.b",
    "$.*",
    "$[*]",
    "$.a[*].id",
    "$..[*]",
    "$['x y']",
    "$..*",
    '$["a"][2]',
]


@pytest.mark.parametrize(
    ("pattern", "path", "prefix", "expected"),
    [
        ("$.a.b", ("a", "b"), False, True),
        ("$.a.b", ("a", "b", "c"), True, True),
        ("$.a.b", ("a", "b", "c"), False, False),
        ("$..id", ("id",), False, True),
        ("$..id", ("a", None, "id"), False, True),
        ("$..id", ("a", None, "name"), True, False),
        ("$.items[*].id", ("items", None, "id"), False, True),
        ("$.items[3].id", ("items", None, "id"), False, True),
        ("$.*", ("anything",), False, True),
        ("$.*", (None,), False, False),
        ("$['a key']", ("a key",), False, True),
    ],
)
def test_pattern_matching(pattern: str, path: NodePath, prefix: bool, expected: bool) -> None:
    """Patterns match concrete node paths exactly or as an ancestor prefix."""
    assert PathPattern.parse(pattern).matches(path, prefix=prefix) is expected


@pytest.mark.parametrize("bad", ["a.b", "$.", "$..", "$[?(@.a)]", "$.a[", "$..."])
def test_unsupported_syntax_is_rejected(bad: str) -> None:
    """Anything outside the subset raises PathSyntaxError quoting the pattern."""
    with pytest.raises(PathSyntaxError):
        PathPattern.parse(bad)


def test_format_path_normalises_indexes_and_quotes_odd_keys() -> None:
    """Array steps render as [*]; keys that are not identifiers render bracketed."""
    assert format_path(("items", None, "id")) == "$.items[*].id"
    assert format_path(("it's",)) == "$['it\\'s']"
    assert PathPattern.parse(format_path(("it's", None))).matches(("it's", None), prefix=False)


@settings(max_examples=200, deadline=None)
@given(
    path=st.lists(st.one_of(st.none(), st.sampled_from(KEYS)), max_size=6).map(tuple),
    chosen=st.lists(st.sampled_from(PATTERNS), min_size=1, max_size=4, unique=True),
)
def test_incremental_matcher_agrees_with_direct_matching(path: NodePath, chosen: list[str]) -> None:
    """Stepping the PathMatcher along a path gives the same exact matches as PathPattern.matches."""
    patterns = [PathPattern.parse(p) for p in chosen]
    matcher = PathMatcher(patterns, chosen)
    state = matcher.start
    for step in path:
        state = matcher.step(state, step)
    expected = {p.text for p in patterns if p.matches(path, prefix=False)}
    assert set(matcher.groups(state)) == expected


def test_compare_module_exports() -> None:
    """The public surface the gateway relies on is pinned."""
    assert set(contracts.compare.__all__) == {
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
    }
