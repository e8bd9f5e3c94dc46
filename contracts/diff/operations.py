"""Operation-level rules: operations and webhooks matched, deprecation and sunset, security.

Operations are matched by method and path *shape*: ``/tasks/{id}`` and ``/tasks/{task_id}`` are the
same operation (renaming a path parameter changes nothing on the wire), and path parameters are
matched by position for the same reason.

Deprecation follows the usual lifecycle: deprecating is informational; removing an operation that
was deprecated and is past its ``x-sunset`` date is allowed; removing it earlier is an error. An
operation deprecated without ``x-sunset`` may be removed only when no minimum deprecation period is
set (``min_deprecation_days`` 0); with one, deprecating requires an ``x-sunset`` at least that many
days ahead of ``today``. ``today`` is a parameter so the verdict is a pure function of its inputs.

Webhooks (OpenAPI 3.1) are matched by name; the API sends their request and subscribers receive it,
so their payload is judged as a response (``webhook-request-body-*``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from contracts.diff.messages import (
    Report,
    compare_schema_at,
    diff_parameters,
    diff_request_body,
    diff_responses,
    media_types,
    parameters,
)
from contracts.diff.resolve import Resolver
from contracts.diff.rules import RULES
from contracts.diff.schemas import SchemaPair
from contracts.report import Finding

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_PARAM = re.compile(r"\{[^}/]+\}")

Operations = dict[tuple[str, str], tuple[str, dict[str, Any], list[Any]]]


@dataclass(frozen=True)
class Lifecycle:
    """What deprecation rules need: the day the diff runs and the minimum deprecation period."""

    today: date
    min_deprecation_days: int = 0


def operations(doc: dict[str, Any], resolver: Resolver, section: str = "paths") -> Operations:
    """Map (METHOD, path shape) to (display path, operation, path-level parameters)."""
    found: Operations = {}
    items = doc.get(section) or {}
    if not isinstance(items, dict):
        return found
    for path, raw in items.items():
        item, _ = resolver.deref(raw)
        if not isinstance(item, dict):
            continue
        shared = item.get("parameters") or []
        for method in METHODS:
            op = item.get(method)
            if isinstance(op, dict):
                shape = _PARAM.sub("{}", str(path)) if section == "paths" else str(path)
                found[(method.upper(), shape)] = (str(path), op, shared)
    return found


def diff_operations(
    base_doc: dict[str, Any], rev_doc: dict[str, Any], pair: SchemaPair, lifecycle: Lifecycle
) -> list[Finding]:
    """Every finding between two documents, in a stable order."""
    findings: list[Finding] = []
    base_ops = operations(base_doc, pair.base)
    rev_ops = operations(rev_doc, pair.revision)
    for key in sorted(base_ops.keys() | rev_ops.keys()):
        method = key[0]
        shown = (rev_ops.get(key) or base_ops[key])[0]
        report = _reporter(findings, f"{method} {shown}")
        if key not in rev_ops:
            _removed(base_ops[key][1], lifecycle, report)
            continue
        if key not in base_ops:
            report("operation-added", "operation", "operation added")
            continue
        _, base_op, base_shared = base_ops[key]
        _, rev_op, rev_shared = rev_ops[key]
        _deprecation(base_op, rev_op, lifecycle, report)
        _operation_id(base_op, rev_op, report)
        diff_parameters(
            pair,
            parameters(pair.base, base_op, base_shared),
            parameters(pair.revision, rev_op, rev_shared),
            report,
        )
        diff_request_body(pair, base_op, rev_op, report)
        diff_responses(pair, base_op, rev_op, report)
        _security(base_doc, base_op, rev_doc, rev_op, report)
    _webhooks(base_doc, rev_doc, pair, findings)
    return findings


def _reporter(findings: list[Finding], subject: str) -> Report:
    def report(rule_id: str, location: str, message: str) -> None:
        findings.append(Finding(RULES[rule_id].level, rule_id, subject, location, message))

    return report


def _sunset(op: dict[str, Any]) -> date | None:
    value = op.get("x-sunset")
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10]) if value is not None else None
    except ValueError:
        return None


def _removed(op: dict[str, Any], lifecycle: Lifecycle, report: Report) -> None:
    if not op.get("deprecated", False):
        report("operation-removed", "operation", "operation removed without being deprecated")
        return
    sunset = _sunset(op)
    undated_allowed = sunset is None and lifecycle.min_deprecation_days == 0
    if undated_allowed or (sunset is not None and sunset <= lifecycle.today):
        report("operation-removed-deprecated", "operation", "deprecated operation removed")
        return
    when = f"before its sunset {sunset}" if sunset else "with no x-sunset date"
    report("operation-removed-before-sunset", "operation", f"deprecated operation removed {when}")


def _operation_id(base_op: dict[str, Any], rev_op: dict[str, Any], report: Report) -> None:
    """Not on the wire, but generated clients name their methods after it."""
    old, new = base_op.get("operationId"), rev_op.get("operationId")
    if old == new:
        return
    if old is None:
        report("operation-id-added", "operationId", f"operationId {new!r}")
    elif new is None:
        report("operation-id-removed", "operationId", f"operationId {old!r} dropped")
    else:
        report("operation-id-changed", "operationId", f"operationId {old!r} -> {new!r}")


def _deprecation(
    base_op: dict[str, Any], rev_op: dict[str, Any], lifecycle: Lifecycle, report: Report
) -> None:
    was, now = bool(base_op.get("deprecated", False)), bool(rev_op.get("deprecated", False))
    if was and not now:
        report("operation-reactivated", "operation", "operation is no longer deprecated")
    if was and now:
        old_sunset, new_sunset = _sunset(base_op), _sunset(rev_op)
        if old_sunset is not None and (new_sunset is None or new_sunset < old_sunset):
            report(
                "operation-sunset-moved-earlier",
                "operation",
                f"x-sunset moved from {old_sunset} to {new_sunset or 'none'}",
            )
    if not now or was:
        return
    report("operation-deprecated", "operation", "operation deprecated")
    if lifecycle.min_deprecation_days <= 0:
        return
    sunset = _sunset(rev_op)
    earliest = lifecycle.today + timedelta(days=lifecycle.min_deprecation_days)
    if sunset is None or sunset < earliest:
        report(
            "operation-sunset-too-early",
            "operation",
            f"x-sunset {sunset or 'missing'}; at least {earliest} "
            f"({lifecycle.min_deprecation_days} days) is required",
        )


def _requires_auth(doc: dict[str, Any], op: dict[str, Any]) -> bool:
    security = op.get("security", doc.get("security"))
    if not security or not isinstance(security, list):
        return False
    return all(bool(requirement) for requirement in security)


def _security(
    base_doc: dict[str, Any],
    base_op: dict[str, Any],
    rev_doc: dict[str, Any],
    rev_op: dict[str, Any],
    report: Report,
) -> None:
    """Authentication required or dropped: informational (a 401 names the scheme)."""
    before, after = _requires_auth(base_doc, base_op), _requires_auth(rev_doc, rev_op)
    if after and not before:
        report("security-added", "security", "the operation now requires authentication")
    elif before and not after:
        report("security-removed", "security", "the operation no longer requires authentication")


def _webhooks(
    base_doc: dict[str, Any], rev_doc: dict[str, Any], pair: SchemaPair, findings: list[Finding]
) -> None:
    base_hooks = operations(base_doc, pair.base, "webhooks")
    rev_hooks = operations(rev_doc, pair.revision, "webhooks")
    for key in sorted(base_hooks.keys() | rev_hooks.keys()):
        report = _reporter(findings, f"webhook {key[1]} {key[0]}")
        if key not in rev_hooks:
            report("webhook-removed", "webhook", "webhook no longer sent")
            continue
        if key not in base_hooks:
            report("webhook-added", "webhook", "webhook added")
            continue
        _, base_content = media_types(pair.base, base_hooks[key][1].get("requestBody"))
        _, rev_content = media_types(pair.revision, rev_hooks[key][1].get("requestBody"))
        for media in sorted(base_content.keys() & rev_content.keys()):
            compare_schema_at(
                pair,
                base_content[media].get("schema", {}),
                rev_content[media].get("schema", {}),
                "response",
                report,
                "webhook-request-body",
                "webhook payload",
            )
