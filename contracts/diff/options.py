"""Options for living with a real API: ignore lists, severity overrides, filters, path rewriting.

All pure. Two kinds of work, at two moments:

* **before the diff**, on the loaded documents: :func:`rebase_paths` (oasdiff's
  ``--strip-prefix-base``/``--prefix-base`` and their ``-revision`` twins: a gateway that serves
  ``/api/v1/pets`` documented as ``/pets`` is the same operation) and :func:`lower_header_names`
  (HTTP field names are case-insensitive, RFC 9110 §5.1, so ``X-Request-Id`` → ``x-request-id`` is
  no change on the wire). The rules already compare header names that way; the option is kept for
  command lines written for oasdiff, and makes the promise independent of the rules' internals;
* **after the diff**, on the report: :func:`apply_options` keeps the operations ``--include`` and
  ``--exclude`` select, drops what the ignore list accepts (an expired entry stops ignoring and says
  so; an entry that matched nothing says so), then applies the severity overrides. Ignoring before
  overriding lets an override also reach the ignore list's own findings (``ignore-entry-unused:
  off``).

Patterns are globs in which only ``*`` (any run of characters, ``/`` included) and ``?`` are
special: locations contain ``[*]`` and operations ``{id}``, which must match themselves. Path
parameter names do not matter (``GET /pets/{id}`` matches ``GET /pets/{petId}``): the diff
matches operations by path shape for the same reason. A pattern starting with ``/`` is matched
against the path alone, any other against ``METHOD /path`` (method part case-insensitive; ``*``
alone matches every operation).

The files are parsed by :func:`parse_ignore_entries` and :func:`parse_severity_overrides`; their
errors name the file, the entry (counted from 1) and the field.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from contracts.report import Finding, Report, Severity

IGNORE_FIELDS = ("rule", "operation", "location", "reason", "expires")
RULE_EXPIRED = "ignore-entry-expired"
RULE_UNUSED = "ignore-entry-unused"
_PARAM = re.compile(r"\{[^}/]*\}")


class OptionsError(ValueError):
    """An option or option file cannot be used; the message names the file, entry and field."""


@dataclass(frozen=True)
class IgnoreEntry:
    """Accept findings of ``rule`` on ``operation`` (at ``location``), for a stated reason."""

    rule: str
    operation: str
    reason: str
    location: str | None = None
    expires: dt.date | None = None
    number: int = 1

    def matches(self, finding: Finding) -> bool:
        """Whether this entry accepts ``finding`` (expiry aside)."""
        return (
            glob_match(finding.rule, self.rule)
            and operation_matches(finding.subject, self.operation)
            and (self.location is None or glob_match(finding.location, self.location))
        )


@dataclass(frozen=True)
class SeverityOverride:
    """Findings whose rule matches ``pattern`` get ``level``; ``None`` means "off" (dropped)."""

    pattern: str
    level: Severity | None


@dataclass(frozen=True)
class DiffOptions:
    """Everything ``cutover contracts diff`` can be told beyond the two documents."""

    ignores: tuple[IgnoreEntry, ...] = ()
    ignore_file: str = ""
    severities: tuple[SeverityOverride, ...] = ()
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    strip_prefix_base: str = ""
    strip_prefix_revision: str = ""
    prefix_base: str = ""
    prefix_revision: str = ""
    case_insensitive_headers: bool = False
    deprecation_days: int | None = None


@lru_cache(maxsize=512)
def _glob(pattern: str) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.DOTALL)


def glob_match(text: str, pattern: str) -> bool:
    """``*`` and ``?`` are wildcards; every other character, ``[`` and ``{`` too, is itself."""
    return _glob(pattern).fullmatch(text) is not None


def operation_matches(subject: str, pattern: str) -> bool:
    """Match ``METHOD /path`` against ``GET /pets/*``, ``* /pets/{id}`` or just ``/pets/*``."""
    method, _, path = subject.partition(" ")
    pattern = pattern.strip()
    if pattern.startswith("/"):
        return glob_match(_PARAM.sub("{}", path), _PARAM.sub("{}", pattern))
    if " " not in pattern:  # "*", "GET*": a glob over the whole subject
        return glob_match(f"{method.upper()} {_PARAM.sub('{}', path)}", _PARAM.sub("{}", pattern))
    want_method, _, want_path = pattern.partition(" ")
    return glob_match(method.upper(), want_method.upper()) and glob_match(
        _PARAM.sub("{}", path), _PARAM.sub("{}", want_path.strip())
    )


# --- before the diff -------------------------------------------------------------------------


def rebase_paths(doc: dict[str, Any], strip: str = "", prefix: str = "") -> dict[str, Any]:
    """A copy of ``doc`` whose path keys lose ``strip`` (a whole segment), gain ``prefix``."""
    strip, prefix = strip.rstrip("/"), prefix.strip("/")
    if not strip and not prefix:
        return doc
    paths: dict[str, Any] = {}
    for key, item in (doc.get("paths") or {}).items():
        path = str(key)
        if strip and (path == strip or path.startswith(strip + "/")):
            path = path[len(strip) :] or "/"
        if prefix:
            path = "/" + prefix + ("" if path == "/" else path)
        if path in paths:
            raise OptionsError(f"path prefix options map two paths onto {path!r}")
        paths[path] = item
    return {**doc, "paths": paths}


def lower_header_names(doc: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``doc`` with header parameters' names and response header keys in lower case."""
    doc = copy.deepcopy(doc)
    components = doc.get("components") or {}
    parameter_lists: list[Any] = [list((components.get("parameters") or {}).values())]
    responses: list[Any] = list((components.get("responses") or {}).values())
    for item in (doc.get("paths") or {}).values():
        if not isinstance(item, dict):
            continue
        parameter_lists.append(item.get("parameters") or [])
        for op in item.values():
            if isinstance(op, dict):
                parameter_lists.append(op.get("parameters") or [])
                responses += list((op.get("responses") or {}).values())
    for params in parameter_lists:
        for param in params if isinstance(params, list) else []:
            if isinstance(param, dict) and param.get("in") == "header" and "name" in param:
                param["name"] = str(param["name"]).lower()
    for response in responses:
        if isinstance(response, dict) and isinstance(response.get("headers"), dict):
            response["headers"] = {str(k).lower(): v for k, v in response["headers"].items()}
    return doc


def prepare(doc: dict[str, Any], options: DiffOptions, side: str) -> dict[str, Any]:
    """Apply the pre-diff options for ``side`` (``base`` or ``revision``) to a loaded document."""
    strip = options.strip_prefix_base if side == "base" else options.strip_prefix_revision
    prefix = options.prefix_base if side == "base" else options.prefix_revision
    doc = rebase_paths(doc, strip, prefix)
    return lower_header_names(doc) if options.case_insensitive_headers else doc


# --- after the diff --------------------------------------------------------------------------


def selected(subject: str, include: Iterable[str], exclude: Iterable[str]) -> bool:
    """In when no include is given or one matches, and no exclude matches."""
    include = tuple(include)
    if include and not any(operation_matches(subject, p) for p in include):
        return False
    return not any(operation_matches(subject, p) for p in exclude)


def apply_ignores(
    findings: Iterable[Finding], entries: Iterable[IgnoreEntry], today: dt.date, source: str
) -> tuple[list[Finding], int]:
    """Drop accepted findings; add one WARN per expired entry and one INFO per unused entry."""
    entries = tuple(entries)
    live = [e for e in entries if e.expires is None or today <= e.expires]
    used: set[int] = set()
    kept: list[Finding] = []
    ignored = 0
    for finding in findings:
        entry = next((e for e in live if e.matches(finding)), None)
        if entry is None:
            kept.append(finding)
        else:
            used.add(entry.number)
            ignored += 1
    for entry in entries:
        # The subject is the ignore file: the finding is about an entry there (JUnit gives the file
        # a testcase, SARIF places the alert in it), not about an operation of the API.
        where = f"entry {entry.number}: {entry.rule} on {entry.operation}"
        if entry not in live:
            message = (
                f"expired on {entry.expires} (reason was: {entry.reason}); its findings count again"
            )
            kept.append(Finding(Severity.WARN, RULE_EXPIRED, source, where, message))
        elif entry.number not in used:
            message = f"matched no finding (reason: {entry.reason}); remove it or fix it"
            kept.append(Finding(Severity.INFO, RULE_UNUSED, source, where, message))
    return kept, ignored


def override_level(rule: str, overrides: Iterable[SeverityOverride]) -> SeverityOverride | None:
    """The override for ``rule``: an exact id wins, else the first matching glob in file order."""
    overrides = tuple(overrides)
    exact = next((o for o in overrides if o.pattern == rule), None)
    return exact or next((o for o in overrides if glob_match(rule, o.pattern)), None)


def apply_severities(
    findings: Iterable[Finding], overrides: Iterable[SeverityOverride]
) -> list[Finding]:
    """Findings at their overridden levels; those turned ``off`` are left out."""
    overrides = tuple(overrides)
    out: list[Finding] = []
    for finding in findings:
        override = override_level(finding.rule, overrides)
        if override is None:
            out.append(finding)
        elif override.level is not None:
            out.append(dataclasses.replace(finding, severity=override.level))
    return out


def apply_options(report: Report, options: DiffOptions, today: dt.date) -> Report:
    """Filter, ignore and re-level a diff report; notes say what the options did."""
    subjects = tuple(s for s in report.subjects if selected(s, options.include, options.exclude))
    findings = [f for f in report.findings if selected(f.subject, options.include, options.exclude)]
    notes = list(report.notes)
    stats = dict(report.stats)
    if len(subjects) != len(report.subjects):
        notes.append(f"{len(report.subjects) - len(subjects)} operation(s) left out by filters")
    if options.ignores:
        findings, ignored = apply_ignores(findings, options.ignores, today, options.ignore_file)
        stats["ignored"] = ignored
        notes.append(f"{ignored} finding(s) ignored by {options.ignore_file}")
    findings = apply_severities(findings, options.severities)
    if options.ignores and any(f.subject == options.ignore_file for f in findings):
        subjects = (*subjects, options.ignore_file)
    return dataclasses.replace(
        report, subjects=subjects, findings=tuple(findings), notes=tuple(notes), stats=stats
    )
