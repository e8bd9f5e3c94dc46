"""SARIF 2.1.0 rendering of a :class:`~contracts.report.Report`, for code-scanning UIs.

The log has one ``run`` (OASIS SARIF 2.1.0 §3.13 sarifLog, §3.14 run) whose ``tool.driver.rules``
lists the rule ids seen in the report, in order of first appearance, so that every result's
``ruleIndex`` points at its descriptor (§3.27.6); the report's ``rule_help`` becomes the
descriptor's ``fullDescription`` and ``help`` (what code-scanning UIs show beside an alert). Levels
map ERR → ``error``, WARN → ``warning``, INFO → ``note`` (§3.27.10); every result sets its level
explicitly because a severity override may have moved one finding away from its rule's usual level.

Each result has one location (§3.28) with

* a ``logicalLocation`` for the operation (``GET /pets/{id}``), its ``fullyQualifiedName`` adding
  the place inside it (``GET /pets/{id} response 200 $.name``): that is what the finding is about;
* a ``physicalLocation`` when the report knows the file: GitHub code scanning places an alert on a
  line of a repository file and refuses results without ``region.startLine``, so the line of the
  operation in the document is used (line 1 when it cannot be found). A relative file name is kept
  relative to ``%SRCROOT%`` (the checkout), an absolute one becomes a ``file://`` URI.

``partialFingerprints`` (§3.27.17) hash rule, subject and location but not the line, so an alert
keeps its identity when the document is reformatted. Skipped subjects and notes become
``toolExecutionNotifications`` of the single invocation (§3.20.21).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from contracts.report import Finding, Report, Severity, SourceSpot

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
LEVELS = {Severity.ERR: "error", Severity.WARN: "warning", Severity.INFO: "note"}
FINGERPRINT = "cutoverFinding/v1"


def render_sarif(report: Report) -> str:
    """The report as a SARIF 2.1.0 log (JSON text)."""
    rule_ids: list[str] = []
    worst: dict[str, Severity] = {}
    for finding in report.findings:
        if finding.rule not in worst:
            rule_ids.append(finding.rule)
            worst[finding.rule] = finding.severity
        worst[finding.rule] = max(worst[finding.rule], finding.severity)
    index = {rule: i for i, rule in enumerate(rule_ids)}
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "cutover",
                "fullName": f"cutover contracts {report.tool}",
                "rules": [
                    _descriptor(rule, worst[rule], report.rule_help.get(rule)) for rule in rule_ids
                ],
            }
        },
        "invocations": [_invocation(report)],
        "results": [_result(report, f, index[f.rule]) for f in report.findings],
    }
    if any(spot is not None and _base_id(spot) for spot in map(report.spot, report.subjects)):
        run["originalUriBaseIds"] = {
            "%SRCROOT%": {"description": {"text": "The directory the command was run in."}}
        }
    log = {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def _descriptor(rule: str, level: Severity, help_text: str | None) -> dict[str, Any]:
    words = rule.replace("_", "-").split("-")
    descriptor: dict[str, Any] = {
        "id": rule,
        "name": "".join(word.capitalize() for word in words),
        "shortDescription": {"text": " ".join(words).capitalize()},
        "defaultConfiguration": {"level": LEVELS[level]},
    }
    if help_text:
        descriptor["fullDescription"] = {"text": help_text}
        descriptor["help"] = {"text": help_text}
    return descriptor


def _result(report: Report, finding: Finding, rule_index: int) -> dict[str, Any]:
    location: dict[str, Any] = {
        "logicalLocations": [
            {
                "name": finding.subject,
                "fullyQualifiedName": f"{finding.subject} {finding.location}".strip(),
                "kind": "function",
            }
        ]
    }
    spot = report.spot(finding.subject)
    if spot is not None:
        artifact: dict[str, Any] = {"uri": _uri(spot)}
        if _base_id(spot):
            artifact["uriBaseId"] = "%SRCROOT%"
        location["physicalLocation"] = {
            "artifactLocation": artifact,
            "region": {"startLine": max(1, spot.line)},
        }
    key = "\0".join((finding.rule, finding.subject, finding.location))
    return {
        "ruleId": finding.rule,
        "ruleIndex": rule_index,
        "level": LEVELS[finding.severity],
        "message": {"text": f"{finding.subject} {finding.location}: {finding.message}"},
        "locations": [location],
        "partialFingerprints": {FINGERPRINT: hashlib.sha256(key.encode()).hexdigest()[:32]},
    }


def _invocation(report: Report) -> dict[str, Any]:
    notices = [f"skipped {subject}: {reason}" for subject, reason in report.skipped]
    notices += list(report.notes)
    invocation: dict[str, Any] = {"executionSuccessful": True}
    if notices:
        invocation["toolExecutionNotifications"] = [
            {"level": "note", "message": {"text": text}} for text in notices
        ]
    return invocation


def _base_id(spot: SourceSpot) -> bool:
    return not Path(spot.file).is_absolute()


def _uri(spot: SourceSpot) -> str:
    """A URI reference for the file: relative paths stay relative (to ``%SRCROOT%``)."""
    path = Path(spot.file)
    if path.is_absolute():
        return path.as_uri()
    return quote(str(PurePosixPath(*path.parts)), safe="/")
