"""Operation-level rules: operations, parameters, request bodies, responses, security.

Operations are matched by method and path *shape*: ``/tasks/{id}`` and ``/tasks/{task_id}`` are the same
operation (renaming a path parameter changes nothing on the wire), and path parameters are matched by
position for the same reason.
"""

from __future__ import annotations

import re
from typing import Any

from contracts.diff.constraints import Emit
from contracts.diff.resolve import Resolver
from contracts.diff.schemas import SchemaPair, compare_schemas
from contracts.report import Finding, Severity

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_PARAM = re.compile(r"\{[^}/]+\}")


def operations(
    doc: dict[str, Any], resolver: Resolver
) -> dict[tuple[str, str], tuple[str, dict[str, Any], list[Any]]]:
    """Map (METHOD, path shape) to (display path, operation, path-level parameters)."""
    found: dict[tuple[str, str], tuple[str, dict[str, Any], list[Any]]] = {}
    for path, item in (doc.get("paths") or {}).items():
        item, _ = resolver.deref(item)
        if not isinstance(item, dict):
            continue
        shared = item.get("parameters") or []
        for method in METHODS:
            op = item.get(method)
            if isinstance(op, dict):
                found[(method.upper(), _PARAM.sub("{}", path))] = (path, op, shared)
    return found


def diff_operations(base_doc: dict[str, Any], rev_doc: dict[str, Any]) -> list[Finding]:
    """Every finding between two documents, in a stable order."""
    pair = SchemaPair(Resolver(base_doc), Resolver(rev_doc))
    base_ops = operations(base_doc, pair.base)
    rev_ops = operations(rev_doc, pair.revision)
    findings: list[Finding] = []
    for key in sorted(base_ops.keys() | rev_ops.keys()):
        method = key[0]
        if key not in rev_ops:
            subject = f"{method} {base_ops[key][0]}"
            findings.append(
                Finding(
                    Severity.ERR, "operation-removed", subject, "operation", "operation removed"
                )
            )
            continue
        subject = f"{method} {rev_ops[key][0]}"
        if key not in base_ops:
            findings.append(
                Finding(Severity.INFO, "operation-added", subject, "operation", "operation added")
            )
            continue

        def emit(
            severity: Severity, rule: str, location: str, message: str, _s: str = subject
        ) -> None:
            findings.append(Finding(severity, rule, _s, location, message))

        _, base_op, base_shared = base_ops[key]
        _, rev_op, rev_shared = rev_ops[key]
        _diff_parameters(pair, base_op, base_shared, rev_op, rev_shared, emit)
        _diff_request_body(pair, base_op, rev_op, emit)
        _diff_responses(pair, base_op, rev_op, emit)
        _diff_security(base_doc, base_op, rev_doc, rev_op, emit)
    return findings


def _parameters(
    resolver: Resolver, op: dict[str, Any], shared: list[Any]
) -> dict[tuple[str, str], dict[str, Any]]:
    params: dict[tuple[str, str], dict[str, Any]] = {}
    position = 0
    for raw in [*shared, *(op.get("parameters") or [])]:
        param, _ = resolver.deref(raw)
        if not isinstance(param, dict) or "in" not in param:
            continue
        where = str(param["in"])
        if where == "path":
            name = f"#{position}"
            position += 1
        else:
            name = (
                str(param.get("name", "")).lower()
                if where == "header"
                else str(param.get("name", ""))
            )
        params[(where, name)] = param
    return params


def _diff_parameters(
    pair: SchemaPair,
    base_op: dict[str, Any],
    base_shared: list[Any],
    rev_op: dict[str, Any],
    rev_shared: list[Any],
    emit: Emit,
) -> None:
    base_params = _parameters(pair.base, base_op, base_shared)
    rev_params = _parameters(pair.revision, rev_op, rev_shared)
    for key in sorted(base_params.keys() | rev_params.keys()):
        where, _ = key
        shown = (rev_params.get(key) or base_params[key]).get("name", key[1])
        location = f"parameter {where} {shown}"
        if key not in rev_params:
            emit(
                Severity.WARN,
                "parameter-removed",
                location,
                "parameter removed (clients still sending it)",
            )
            continue
        rev_param = rev_params[key]
        rev_required = bool(rev_param.get("required", False))
        if key not in base_params:
            if rev_required:
                emit(Severity.ERR, "parameter-required-added", location, "new required parameter")
            else:
                emit(Severity.INFO, "parameter-added", location, "new optional parameter")
            continue
        base_param = base_params[key]
        if rev_required and not base_param.get("required", False):
            emit(Severity.ERR, "parameter-became-required", location, "parameter is now required")
        elif base_param.get("required", False) and not rev_required:
            emit(Severity.INFO, "parameter-became-optional", location, "parameter is now optional")

        def emit_in(sev: Severity, rule: str, path: str, message: str, _l: str = location) -> None:
            emit(sev, rule, _l if path == "$" else f"{_l} {path}", message)

        compare_schemas(
            pair, base_param.get("schema", {}), rev_param.get("schema", {}), "request", emit_in
        )


def _content(resolver: Resolver, node: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    resolved, _ = resolver.deref(node)
    if not isinstance(resolved, dict):
        return {}, {}
    content = resolved.get("content") or {}
    return resolved, {
        str(k).split(";")[0].strip().lower(): v for k, v in content.items() if isinstance(v, dict)
    }


def _diff_request_body(
    pair: SchemaPair, base_op: dict[str, Any], rev_op: dict[str, Any], emit: Emit
) -> None:
    base_body, base_content = _content(pair.base, base_op.get("requestBody"))
    rev_body, rev_content = _content(pair.revision, rev_op.get("requestBody"))
    location = "request body"
    if not base_body and not rev_body:
        return
    if not rev_body:
        emit(Severity.WARN, "request-body-removed", location, "the request body is no longer read")
        return
    rev_required = bool(rev_body.get("required", False))
    if not base_body:
        severity = Severity.ERR if rev_required else Severity.INFO
        emit(
            severity,
            "request-body-added",
            location,
            f"new {'required' if rev_required else 'optional'} request body",
        )
        return
    if rev_required and not base_body.get("required", False):
        emit(
            Severity.ERR,
            "request-body-became-required",
            location,
            "the request body is now required",
        )
    for media in sorted(base_content.keys() - rev_content.keys()):
        emit(
            Severity.ERR,
            "request-media-type-removed",
            f"{location} {media}",
            f"{media} is no longer accepted",
        )
    for media in sorted(base_content.keys() & rev_content.keys()):

        def emit_in(sev: Severity, rule: str, path: str, message: str, _m: str = media) -> None:
            emit(sev, rule, f"{location} {path}", message)

        compare_schemas(
            pair,
            base_content[media].get("schema", {}),
            rev_content[media].get("schema", {}),
            "request",
            emit_in,
        )


def _diff_responses(
    pair: SchemaPair, base_op: dict[str, Any], rev_op: dict[str, Any], emit: Emit
) -> None:
    base_responses = {str(k): v for k, v in (base_op.get("responses") or {}).items()}
    rev_responses = {str(k): v for k, v in (rev_op.get("responses") or {}).items()}
    for status in sorted(base_responses.keys() - rev_responses.keys()):
        emit(
            Severity.ERR,
            "response-status-removed",
            f"response {status}",
            f"status {status} is no longer documented",
        )
    for status in sorted(rev_responses.keys() - base_responses.keys()):
        emit(Severity.INFO, "response-status-added", f"response {status}", f"status {status} added")
    for status in sorted(base_responses.keys() & rev_responses.keys()):
        _, base_content = _content(pair.base, base_responses[status])
        _, rev_content = _content(pair.revision, rev_responses[status])
        location = f"response {status}"
        for media in sorted(base_content.keys() - rev_content.keys()):
            emit(
                Severity.ERR,
                "response-media-type-removed",
                f"{location} {media}",
                f"{media} is no longer returned",
            )
        for media in sorted(rev_content.keys() - base_content.keys()):
            emit(
                Severity.INFO,
                "response-media-type-added",
                f"{location} {media}",
                f"{media} may now be returned",
            )
        for media in sorted(base_content.keys() & rev_content.keys()):

            def emit_in(
                sev: Severity, rule: str, path: str, message: str, _l: str = location
            ) -> None:
                emit(sev, rule, f"{_l} {path}", message)

            compare_schemas(
                pair,
                base_content[media].get("schema", {}),
                rev_content[media].get("schema", {}),
                "response",
                emit_in,
            )


def _requires_auth(doc: dict[str, Any], op: dict[str, Any]) -> bool:
    security = op.get("security", doc.get("security"))
    if not security:
        return False
    return all(bool(requirement) for requirement in security)


def _diff_security(
    base_doc: dict[str, Any],
    base_op: dict[str, Any],
    rev_doc: dict[str, Any],
    rev_op: dict[str, Any],
    emit: Emit,
) -> None:
    if _requires_auth(rev_doc, rev_op) and not _requires_auth(base_doc, base_op):
        emit(
            Severity.ERR, "security-added", "security", "the operation now requires authentication"
        )
