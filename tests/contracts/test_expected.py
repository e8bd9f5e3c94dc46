"""Expected differences: from diff findings to a file, and the split of a shadow comparison."""

from __future__ import annotations

import json
from typing import Any

import pytest

from contracts.compare import Comparison, Difference
from contracts.expected import (
    ExpectedDifference,
    ExpectedDifferences,
    ExpectedFileError,
    from_findings,
    parse_expected,
    to_json,
)
from contracts.report import Finding, Severity


def finding(subject: str, location: str, rule: str = "r") -> Finding:
    """A finding of any level: the level does not decide what is documented."""
    return Finding(Severity.WARN, rule, subject, location, "m")


def test_from_findings_keeps_response_body_paths_only() -> None:
    """Body paths become entries (deduplicated); status, media, header, request ones do not."""
    expected = from_findings(
        [
            finding("GET /tasks/{id}", "response 200 $.title", "response-property-removed"),
            finding("GET /tasks/{id}", "response 200 $.title", "other-rule"),
            finding("GET /tasks", "response 2XX $.items[*].priority"),
            finding("GET /tasks", "response 200 $['a key']"),
            finding("GET /tasks", "response 404"),
            finding("GET /tasks", "response 200 application/json"),
            finding("GET /tasks", "response 200 header x-rate-limit"),
            finding("POST /tasks", "request body $.title"),
            finding("ignore.yaml", "response 200 $.x"),
        ]
    )
    assert [(e.operation, e.status, e.path, e.rule) for e in expected.entries] == [
        ("GET /tasks/{id}", "200", "$.title", "response-property-removed"),
        ("GET /tasks", "2XX", "$.items[*].priority", "r"),
        ("GET /tasks", "200", "$['a key']", "r"),
    ]


@pytest.mark.parametrize(
    ("method", "target", "status", "found"),
    [
        ("GET", "/tasks/abc", 200, True),
        ("get", "/tasks/abc?x=1", 200, True),
        ("GET", "/tasks/abc/more", 200, False),
        ("GET", "/tasks/", 200, False),
        ("DELETE", "/tasks/abc", 200, False),
        ("GET", "/tasks/abc", 404, False),
    ],
)
def test_for_request_matches_method_template_and_status(
    method: str, target: str, status: int, found: bool
) -> None:
    """A path parameter is one non-empty segment; query strings are ignored; status must match."""
    expected = ExpectedDifferences((ExpectedDifference("GET /tasks/{id}", "200", "$.title"),))
    assert bool(expected.for_request(method, target, status)) is found


@pytest.mark.parametrize(
    ("code", "status", "applies"),
    [
        ("200", 200, True),
        ("200", 201, False),
        ("2XX", 204, True),
        ("2xx", 304, False),
        ("default", 500, True),
    ],
)
def test_status_codes(code: str, status: int, applies: bool) -> None:
    """Exact codes, NXX ranges and default, as OpenAPI writes them."""
    assert ExpectedDifference("GET /", code, "$").applies_to(status) is applies


def diff(path: str, kind: Any = "missing") -> Difference:
    """A comparison difference at ``path``."""
    return Difference(path, kind, "a", None)


def test_split_takes_out_covered_paths() -> None:
    """Differences at or below an expected path are counted as expected; the rest stay."""
    expected = ExpectedDifferences(
        (
            ExpectedDifference("GET /items", "200", "$.owner"),
            ExpectedDifference("GET /items", "200", "$.items[*].title"),
        )
    )
    comparison = Comparison(
        (
            diff("$.owner"),
            diff("$.owner.name"),
            diff("$.items[*].title"),
            diff("$.ownerX"),
            diff("$.count", "type"),
            diff("status", "value"),
        ),
        truncated=2,
    )
    left, count = expected.split(comparison, "GET", "/items", 200)
    assert [d.path for d in left.differences] == ["$.ownerX", "$.count", "status"]
    assert (count, left.truncated) == (3, 2)
    same, none = expected.split(comparison, "GET", "/other", 200)
    assert (same, none) == (comparison, 0)


def test_file_round_trip() -> None:
    """What --expect-file writes, the shadow config reads back."""
    expected = from_findings([finding("GET /t/{id}", "response 200 $.a", "rule-a")])
    text = to_json(expected, "base.json", "rev.json")
    doc = json.loads(text)
    assert doc["base"] == "base.json"
    back = parse_expected(doc, "exp.json")
    assert back.entries == expected.entries
    assert back.source == "exp.json"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"expected": []}, "not an expected-differences file"),
        ({"format": "cutover-expected-differences/1"}, "'expected' must be a list"),
        (
            {"format": "cutover-expected-differences/1", "expected": [{"operation": "GET /"}]},
            "entry 1: 'status' must be a string",
        ),
        (
            {
                "format": "cutover-expected-differences/1",
                "expected": [{"operation": "GET", "status": "200", "path": "$.a"}],
            },
            "entry 1: want an operation",
        ),
    ],
)
def test_bad_files_name_file_and_entry(data: Any, message: str) -> None:
    """A file that is not ours, or a broken entry, is refused with its name and entry."""
    with pytest.raises(ExpectedFileError) as err:
        parse_expected(data, "exp.json")
    assert str(err.value).startswith("exp.json: ")
    assert message in str(err.value)
