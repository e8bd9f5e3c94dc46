"""SARIF 2.1.0 rendering: the log's shape checked against the spec's required and allowed keys."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from contracts.report import Finding, Report, Severity, SourceSpot, render
from contracts.report_sarif import SARIF_VERSION

# The SARIF 2.1.0 JSON schema is not available offline, so the objects this renderer emits are
# checked here against the schema's own terms: each object's required properties and, since the
# schema sets additionalProperties: false on all of them, the properties it allows.
ALLOWED: dict[str, tuple[set[str], set[str]]] = {
    "sarifLog": ({"version", "runs"}, {"$schema", "inlineExternalProperties", "properties"}),
    "run": (
        {"tool"},
        {"invocations", "originalUriBaseIds", "artifacts", "results", "automationDetails"},
    ),
    "tool": ({"driver"}, {"extensions", "properties"}),
    "toolComponent": (
        {"name"},
        {"fullName", "version", "semanticVersion", "informationUri", "rules", "shortDescription"},
    ),
    "reportingDescriptor": (
        {"id"},
        {"name", "shortDescription", "fullDescription", "defaultConfiguration", "help", "helpUri"},
    ),
    "reportingConfiguration": (set(), {"enabled", "level", "rank", "parameters", "properties"}),
    "multiformatMessageString": ({"text"}, {"markdown", "properties"}),
    "message": (set(), {"text", "markdown", "id", "arguments", "properties"}),
    "invocation": ({"executionSuccessful"}, {"toolExecutionNotifications", "exitCode"}),
    "notification": ({"message"}, {"level", "locations", "descriptor", "properties"}),
    "result": (
        {"message"},
        {"ruleId", "ruleIndex", "level", "kind", "locations", "partialFingerprints", "properties"},
    ),
    "location": (set(), {"id", "physicalLocation", "logicalLocations", "message", "properties"}),
    "physicalLocation": (set(), {"artifactLocation", "region", "contextRegion", "properties"}),
    "artifactLocation": (set(), {"uri", "uriBaseId", "index", "description", "properties"}),
    "region": (set(), {"startLine", "startColumn", "endLine", "endColumn", "properties"}),
    "logicalLocation": (set(), {"name", "fullyQualifiedName", "kind", "index", "properties"}),
}
LEVELS = {"none", "note", "warning", "error"}


def shape(obj: Any, kind: str) -> None:
    """Assert ``obj`` is a ``kind`` object with its required keys and only allowed ones."""
    required, optional = ALLOWED[kind]
    assert isinstance(obj, dict), kind
    assert required <= obj.keys(), (kind, required - obj.keys())
    assert obj.keys() <= required | optional, (kind, obj.keys() - required - optional)


def message(obj: Any) -> None:
    """A message needs text or an id (§3.11.6)."""
    shape(obj, "message")
    assert isinstance(obj.get("text"), str)
    assert obj["text"]


def validate(log: dict[str, Any]) -> None:
    """Walk the log the way the 2.1.0 schema would, for the objects this renderer writes."""
    shape(log, "sarifLog")
    assert log["version"] == "2.1.0"
    assert log["$schema"].endswith("sarif-schema-2.1.0.json")
    assert len(log["runs"]) == 1
    run = log["runs"][0]
    shape(run, "run")
    shape(run["tool"], "tool")
    driver = run["tool"]["driver"]
    shape(driver, "toolComponent")
    ids = []
    for rule in driver["rules"]:
        shape(rule, "reportingDescriptor")
        shape(rule["shortDescription"], "multiformatMessageString")
        for key in ("fullDescription", "help"):
            if key in rule:
                shape(rule[key], "multiformatMessageString")
        shape(rule["defaultConfiguration"], "reportingConfiguration")
        assert rule["defaultConfiguration"]["level"] in LEVELS
        ids.append(rule["id"])
    assert len(ids) == len(set(ids)), "rule ids are unique"
    for invocation in run.get("invocations", []):
        shape(invocation, "invocation")
        assert isinstance(invocation["executionSuccessful"], bool)
        for note in invocation.get("toolExecutionNotifications", []):
            shape(note, "notification")
            message(note["message"])
    for result in run["results"]:
        shape(result, "result")
        message(result["message"])
        assert result["level"] in LEVELS
        assert ids[result["ruleIndex"]] == result["ruleId"], "ruleIndex points at ruleId"
        assert all(isinstance(v, str) for v in result["partialFingerprints"].values())
        for location in result["locations"]:
            shape(location, "location")
            for logical in location["logicalLocations"]:
                shape(logical, "logicalLocation")
            if "physicalLocation" in location:
                physical = location["physicalLocation"]
                shape(physical, "physicalLocation")
                shape(physical["artifactLocation"], "artifactLocation")
                shape(physical["region"], "region")
                assert physical["region"]["startLine"] >= 1
                uri = physical["artifactLocation"]["uri"]
                assert " " not in uri, "a URI reference is percent-encoded"
                assert urlsplit(uri).path
                base = physical["artifactLocation"].get("uriBaseId")
                if base is not None:
                    assert base in run["originalUriBaseIds"]
                else:
                    assert uri.startswith("file:///")


def sample_report(**extra: Any) -> Report:
    """Two operations, three findings of three levels and two rules, one skipped subject."""
    return Report(
        tool="diff",
        subjects=("GET /pets/{id}", "DELETE /pets/{id}"),
        findings=(
            Finding(
                Severity.ERR,
                "response-property-removed",
                "GET /pets/{id}",
                "response 200 $.name",
                "gone",
            ),
            Finding(
                Severity.WARN,
                "response-enum-value-added",
                "GET /pets/{id}",
                "response 200 $.kind",
                "new value",
            ),
            Finding(
                Severity.INFO,
                "response-property-removed",
                "DELETE /pets/{id}",
                "response 200 $.x",
                "gone",
            ),
        ),
        skipped=(("POST /pets", "writes not allowed"),),
        notes=("a note",),
        **extra,
    )


def test_sarif_log_has_the_2_1_0_shape() -> None:
    """The rendered log passes the structural check: keys, levels, ruleIndex, URIs."""
    report = sample_report(
        source="specs/rev.json", spots={"DELETE /pets/{id}": SourceSpot("specs/base.json", 7)}
    )
    log = json.loads(render(report, "sarif"))
    validate(log)
    assert log["version"] == SARIF_VERSION


def test_rules_are_the_rule_ids_seen_once_each() -> None:
    """tool.driver.rules lists each rule id once, in order of first appearance."""
    log = json.loads(render(sample_report(), "sarif"))
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["response-property-removed", "response-enum-value-added"]
    assert rules[0]["defaultConfiguration"]["level"] == "error"


def test_rule_help_becomes_the_description() -> None:
    """A rule the report explains gets fullDescription and help; others the id's words."""
    report = sample_report(rule_help={"response-enum-value-added": "clients may not know it"})
    log = json.loads(render(report, "sarif"))
    validate(log)
    removed, added = log["runs"][0]["tool"]["driver"]["rules"]
    assert added["fullDescription"] == {"text": "clients may not know it"}
    assert added["help"] == {"text": "clients may not know it"}
    assert "fullDescription" not in removed
    assert removed["shortDescription"] == {"text": "Response property removed"}


def test_levels_follow_severity() -> None:
    """ERR → error, WARN → warning, INFO → note, per result."""
    log = json.loads(render(sample_report(), "sarif"))
    assert [r["level"] for r in log["runs"][0]["results"]] == ["error", "warning", "note"]


def test_locations_name_the_operation_and_the_file_line() -> None:
    """A result has the operation as logicalLocation and the spec file's line as region."""
    report = sample_report(
        source="specs/rev.json", spots={"DELETE /pets/{id}": SourceSpot("specs/base.json", 7)}
    )
    results = json.loads(render(report, "sarif"))["runs"][0]["results"]
    first, _, third = (r["locations"][0] for r in results)
    assert first["logicalLocations"][0]["name"] == "GET /pets/{id}"
    assert (
        first["logicalLocations"][0]["fullyQualifiedName"] == "GET /pets/{id} response 200 $.name"
    )
    assert first["physicalLocation"]["artifactLocation"] == {
        "uri": "specs/rev.json",
        "uriBaseId": "%SRCROOT%",
    }
    assert first["physicalLocation"]["region"] == {"startLine": 1}
    assert third["physicalLocation"]["artifactLocation"]["uri"] == "specs/base.json"
    assert third["physicalLocation"]["region"] == {"startLine": 7}


def test_absolute_file_becomes_a_file_uri() -> None:
    """An absolute document path is written as a percent-encoded file:// URI without base id."""
    log = json.loads(render(sample_report(source="/tmp/my specs/rev.json"), "sarif"))
    validate(log)
    artifact = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert artifact == {"uri": "file:///tmp/my%20specs/rev.json"}


def test_without_a_file_results_have_only_logical_locations() -> None:
    """A report with no known document still validates; results carry no physicalLocation."""
    log = json.loads(render(sample_report(), "sarif"))
    validate(log)
    assert all("physicalLocation" not in r["locations"][0] for r in log["runs"][0]["results"])


def test_fingerprints_ignore_the_line() -> None:
    """Moving an operation to another line keeps each result's partialFingerprints."""
    one = json.loads(render(sample_report(spots={"GET /pets/{id}": SourceSpot("a", 3)}), "sarif"))
    two = json.loads(render(sample_report(spots={"GET /pets/{id}": SourceSpot("a", 9)}), "sarif"))
    prints = [[r["partialFingerprints"] for r in log["runs"][0]["results"]] for log in (one, two)]
    assert prints[0] == prints[1]
    assert len({json.dumps(p) for p in prints[0]}) == 3


def test_skipped_and_notes_are_notifications() -> None:
    """Skipped subjects and notes appear as toolExecutionNotifications."""
    log = json.loads(render(sample_report(), "sarif"))
    notes = log["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert [n["message"]["text"] for n in notes] == [
        "skipped POST /pets: writes not allowed",
        "a note",
    ]


def test_empty_report_is_a_valid_log() -> None:
    """No findings: one run, no rules, no results."""
    log = json.loads(render(Report(tool="diff", subjects=(), findings=()), "sarif"))
    validate(log)
    assert log["runs"][0]["results"] == []
    assert log["runs"][0]["tool"]["driver"]["rules"] == []
