"""The diff options as pure functions: globs, filters, ignores, overrides, path/header rewrites."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from contracts.diff.option_files import parse_ignore_entries, parse_severity_overrides
from contracts.diff.options import (
    RULE_EXPIRED,
    RULE_UNUSED,
    DiffOptions,
    IgnoreEntry,
    OptionsError,
    SeverityOverride,
    apply_ignores,
    apply_options,
    apply_severities,
    glob_match,
    lower_header_names,
    operation_matches,
    override_level,
    rebase_paths,
    selected,
)
from contracts.report import Finding, Report, Severity

TODAY = dt.date(2026, 12, 6)
YESTERDAY = TODAY - dt.timedelta(days=1)
# An ignore entry with every required field; a row adds or breaks one.
VALID = {"rule": "x", "operation": "GET /", "reason": "r"}
ERR, WARN, INFO = Severity.ERR, Severity.WARN, Severity.INFO


def finding(
    rule: str = "response-property-removed",
    subject: str = "GET /pets/{id}",
    location: str = "response 200 $.name",
    severity: Severity = ERR,
) -> Finding:
    """A finding with defaults that tests override one field at a time."""
    return Finding(severity, rule, subject, location, "msg")


@pytest.mark.parametrize(
    ("text", "pattern", "expected"),
    [
        ("response-property-removed", "response-*", True),
        ("response-property-removed", "request-*", False),
        ("response 200 $.items[*].id", "response 200 $.items[*].id", True),
        ("response 200 $.items[0].id", "response 200 $.items[*].id", True),
        ("response 200 $.itemsX*Y.id", "response 200 $.items[*].id", False),
        ("a/b/c", "a*c", True),
        ("ab", "a?", True),
        ("abc", "a?", False),
    ],
)
def test_glob_match(text: str, pattern: str, expected: bool) -> None:
    """Only * and ? are wildcards; brackets are literal; * crosses '/'."""
    assert glob_match(text, pattern) is expected


@pytest.mark.parametrize(
    ("subject", "pattern", "expected"),
    [
        ("GET /pets/{id}", "GET /pets/{id}", True),
        ("GET /pets/{petId}", "GET /pets/{id}", True),
        ("GET /pets/{id}", "get /pets/*", True),
        ("GET /pets/{id}", "* /pets/{id}", True),
        ("GET /pets/{id}", "POST /pets/{id}", False),
        ("GET /pets/{id}", "/pets/*", True),
        ("GET /pets", "/pets/*", False),
        ("GET /owners/{id}/pets", "/pets*", False),
        ("DELETE /pets/{id}", "*", True),
    ],
)
def test_operation_matches(subject: str, pattern: str, expected: bool) -> None:
    """METHOD /path and path-only patterns, parameter names ignored, any method case."""
    assert operation_matches(subject, pattern) is expected


@pytest.mark.parametrize(
    ("include", "exclude", "subject", "expected"),
    [
        ((), (), "GET /pets", True),
        (("/pets*",), (), "GET /pets", True),
        (("/pets*",), (), "GET /owners", False),
        (("/pets*", "/owners"), (), "GET /owners", True),
        ((), ("DELETE *",), "DELETE /pets/{id}", False),
        (("/pets*",), ("DELETE *",), "DELETE /pets/{id}", False),
        (("/pets*",), ("DELETE *",), "GET /pets/{id}", True),
    ],
)
def test_selected(
    include: tuple[str, ...], exclude: tuple[str, ...], subject: str, expected: bool
) -> None:
    """Include narrows (any match), exclude removes (any match) and wins over include."""
    assert selected(subject, include, exclude) is expected


def entry(**fields: Any) -> IgnoreEntry:
    """An ignore entry for the default finding, overridable per field."""
    values: dict[str, Any] = {
        "rule": "response-property-removed",
        "operation": "GET /pets/{id}",
        "reason": "agreed",
    }
    values.update(fields)
    return IgnoreEntry(**values)


@pytest.mark.parametrize(
    ("ignore", "kept_rules", "ignored"),
    [
        (entry(), [], 1),
        (entry(rule="response-*"), [], 1),
        (entry(operation="POST /pets"), ["response-property-removed", RULE_UNUSED], 0),
        (entry(location="response 200 $.name"), [], 1),
        (entry(location="response 200 $.other"), ["response-property-removed", RULE_UNUSED], 0),
        (entry(expires=TODAY), [], 1),
        (entry(expires=YESTERDAY), ["response-property-removed", RULE_EXPIRED], 0),
    ],
)
def test_apply_ignores(ignore: IgnoreEntry, kept_rules: list[str], ignored: int) -> None:
    """Matching entries drop findings until their expiry day (inclusive); others say why not."""
    kept, count = apply_ignores([finding()], [ignore], TODAY, "ignore.yaml")
    assert [f.rule for f in kept] == kept_rules
    assert count == ignored


def test_expired_and_unused_entries_are_findings() -> None:
    """An expired entry is a WARN, an unused one an INFO, both naming the file and entry."""
    entries = [
        entry(expires=dt.date(2026, 1, 31), number=1),
        entry(operation="POST /nothing", number=2),
    ]
    kept, _ = apply_ignores([finding()], entries, TODAY, "ignore.yaml")
    expired, unused = (f for f in kept if f.rule in {RULE_EXPIRED, RULE_UNUSED})
    assert (expired.severity, expired.subject) == (WARN, "ignore.yaml")
    assert expired.location == "entry 1: response-property-removed on GET /pets/{id}"
    assert "expired on 2026-01-31" in expired.message
    assert (unused.severity, unused.subject) == (INFO, "ignore.yaml")
    assert unused.location == "entry 2: response-property-removed on POST /nothing"


@pytest.mark.parametrize(
    ("overrides", "rule", "expected"),
    [
        ([], "a-b", None),
        ([SeverityOverride("a-*", WARN)], "a-b", WARN),
        ([SeverityOverride("a-*", WARN), SeverityOverride("a-b", INFO)], "a-b", INFO),
        ([SeverityOverride("a-*", WARN), SeverityOverride("*", ERR)], "a-b", WARN),
        ([SeverityOverride("b-*", WARN)], "a-b", None),
    ],
)
def test_override_precedence(
    overrides: list[SeverityOverride], rule: str, expected: Severity | None
) -> None:
    """An exact rule id wins over globs; among globs the first in file order."""
    found = override_level(rule, overrides)
    assert (found.level if found else None) == expected


def test_apply_severities_relevels_and_drops() -> None:
    """Overridden findings change level; 'off' (None) removes them; others are untouched."""
    findings = [finding(rule="a"), finding(rule="b"), finding(rule="c", severity=WARN)]
    out = apply_severities(findings, [SeverityOverride("a", INFO), SeverityOverride("b", None)])
    assert [(f.rule, f.severity) for f in out] == [("a", INFO), ("c", WARN)]


@pytest.mark.parametrize(
    ("paths", "strip", "prefix", "expected"),
    [
        (["/api/v1/pets", "/api/v1"], "/api/v1", "", ["/pets", "/"]),
        (["/api/v1/pets"], "/api/v1/", "", ["/pets"]),
        (["/apiary"], "/api", "", ["/apiary"]),
        (["/pets"], "", "/v2", ["/v2/pets"]),
        (["/pets", "/"], "", "v2/", ["/v2/pets", "/v2"]),
        (["/api/pets"], "/api", "/v2", ["/v2/pets"]),
        (["/pets"], "/", "/", ["/pets"]),
    ],
)
def test_rebase_paths(paths: list[str], strip: str, prefix: str, expected: list[str]) -> None:
    """Strip at a segment boundary, then prepend; the input document is not changed."""
    doc = {"openapi": "3.1.0", "paths": {p: {"get": {}} for p in paths}}
    out = rebase_paths(doc, strip, prefix)
    assert list(out["paths"]) == expected
    assert list(doc["paths"]) == paths


def test_rebase_paths_refuses_collisions() -> None:
    """Two paths that become one are an error, not a silent overwrite."""
    doc: dict[str, Any] = {"paths": {"/api/pets": {}, "/pets": {}}}
    with pytest.raises(OptionsError, match="'/pets'"):
        rebase_paths(doc, "/api")


def test_lower_header_names_everywhere() -> None:
    """Header parameters (operation, path item, components), response header keys: lower case."""
    doc: dict[str, Any] = {
        "paths": {
            "/p": {
                "parameters": [{"name": "X-Trace", "in": "header"}],
                "get": {
                    "parameters": [
                        {"name": "X-Api-Key", "in": "header"},
                        {"name": "Mixed", "in": "query"},
                    ],
                    "responses": {"200": {"headers": {"X-Rate-Limit": {}}}},
                },
            }
        },
        "components": {
            "parameters": {"Tenant": {"name": "X-Tenant", "in": "header"}},
            "responses": {"Err": {"headers": {"Retry-After": {}}}},
        },
    }
    out = lower_header_names(doc)
    get = out["paths"]["/p"]["get"]
    assert [p["name"] for p in get["parameters"]] == ["x-api-key", "Mixed"]
    assert out["paths"]["/p"]["parameters"][0]["name"] == "x-trace"
    assert list(get["responses"]["200"]["headers"]) == ["x-rate-limit"]
    assert out["components"]["parameters"]["Tenant"]["name"] == "x-tenant"
    assert list(out["components"]["responses"]["Err"]["headers"]) == ["retry-after"]
    assert doc["paths"]["/p"]["get"]["parameters"][0]["name"] == "X-Api-Key"


def test_ignore_file_becomes_a_subject_when_it_has_findings() -> None:
    """An expired entry makes the ignore file a subject (a JUnit testcase, a SARIF file)."""
    report = Report(tool="diff", subjects=("GET /pets/{id}",), findings=(finding(),))
    options = DiffOptions(ignores=(entry(expires=dt.date(2000, 1, 1)),), ignore_file="ig.yaml")
    out = apply_options(report, options, TODAY)
    assert out.subjects == ("GET /pets/{id}", "ig.yaml")
    assert [f.rule for f in out.for_subject("ig.yaml")] == [RULE_EXPIRED]


def test_apply_options_filters_ignores_then_overrides() -> None:
    """Subjects and findings are filtered; the ignore list's own findings can be overridden."""
    report = Report(
        tool="diff",
        subjects=("GET /pets/{id}", "DELETE /pets/{id}"),
        findings=(finding(), finding(subject="DELETE /pets/{id}")),
    )
    options = DiffOptions(
        exclude=("DELETE *",),
        ignores=(entry(), entry(operation="GET /nothing", number=2)),
        ignore_file="ig.yaml",
        severities=(SeverityOverride(RULE_UNUSED, None),),
    )
    out = apply_options(report, options, TODAY)
    assert out.subjects == ("GET /pets/{id}",)  # the unused entry's finding is off: no file subject
    assert out.findings == ()
    assert out.stats["ignored"] == 1
    assert "1 finding(s) ignored by ig.yaml" in out.notes
    assert out.exit_code == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"rule": "x"}, "expected a list of ignore entries"),
        (["x"], "entry 1: expected a mapping"),
        ([{"operation": "GET /", "reason": "r"}], "entry 1: 'rule' is required"),
        ([{"rule": "x", "reason": "r"}], "entry 1: 'operation' is required"),
        ([{"rule": "x", "operation": "GET /"}], "entry 1: 'reason' is required"),
        ([{"rule": "x", "operation": "GET /", "reason": " "}], "entry 1: 'reason' must be"),
        ([{**VALID, "path": "/"}], "unknown field 'path'"),
        ([{**VALID, "expires": "31/12/2026"}], "'expires' must be a date"),
        ([{**VALID, "location": 3}], "'location' must be"),
        ([VALID, {"rule": "y"}], "entry 2: 'operation'"),
    ],
)
def test_bad_ignore_files(data: Any, message: str) -> None:
    """Each malformed ignore file names the file, the entry and the field."""
    with pytest.raises(OptionsError, match=r"^ig\.yaml") as err:
        parse_ignore_entries(data, "ig.yaml")
    assert message in str(err.value)


def test_ignore_file_dates_from_yaml_and_json() -> None:
    """expires is a YAML date or an ISO string; entries are numbered from 1."""
    entries = parse_ignore_entries(
        [
            {"rule": "a", "operation": "GET /", "reason": "r", "expires": dt.date(2027, 1, 2)},
            {
                "rule": "b",
                "operation": "/x",
                "reason": "r",
                "expires": "2027-01-03",
                "location": "l",
            },
        ],
        "ig.json",
    )
    assert [(e.number, e.expires, e.location) for e in entries] == [
        (1, dt.date(2027, 1, 2), None),
        (2, dt.date(2027, 1, 3), "l"),
    ]
    assert parse_ignore_entries(None, "empty.yaml") == ()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"a": "ERR", "b-*": "warning", "c": "info"}, [("a", ERR), ("b-*", WARN), ("c", INFO)]),
        ({"a": "off", "b": False, "c": "OFF"}, [("a", None), ("b", None), ("c", None)]),
        (None, []),
    ],
)
def test_severity_file(data: Any, expected: list[tuple[str, Severity | None]]) -> None:
    """Levels with aliases; 'off' in any case and YAML's bare off (False) drop findings."""
    assert [(o.pattern, o.level) for o in parse_severity_overrides(data, "sev.yaml")] == expected


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (["a"], "expected a mapping of rule id to level, not a list"),
        ({"a": "LOUD"}, "entry 1 ('a'): level must be ERR, WARN, INFO or off"),
        ({"a": "ERR", "b": 3}, "entry 2 ('b'): level must be"),
    ],
)
def test_bad_severity_files(data: Any, message: str) -> None:
    """A malformed severity file names the file, the entry and the rule."""
    with pytest.raises(OptionsError, match=r"^sev\.yaml") as err:
        parse_severity_overrides(data, "sev.yaml")
    assert message in str(err.value)
