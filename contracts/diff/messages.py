"""The parts of one operation: parameters, request body, responses (status, media, headers, links).

Each function compares one part of a matched operation and reports catalogued rule ids through a
:data:`Report`; schema comparisons go through :func:`schema_emitter`, which turns the schema walk's
change *kind* into the rule id for the location where it was seen (``request-parameter-query-`` +
``enum-value-removed``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from contracts.diff.constraints import Direction
from contracts.diff.resolve import Resolver
from contracts.diff.schemas import Emit, SchemaPair, compare_schemas

#: Report one finding: catalogued rule id, location in the operation, message.
Report = Callable[[str, str, str], None]

PARAMETER_PLACES = ("path", "query", "header", "cookie")


def schema_emitter(report: Report, location_id: str, location: str) -> Emit:
    """An :data:`Emit` for the schema walk that reports ``<location_id>-<kind>`` at ``location``."""

    def emit(kind: str, path: str, message: str) -> None:
        report(f"{location_id}-{kind}", location if path == "$" else f"{location} {path}", message)

    return emit


def compare_schema_at(
    pair: SchemaPair,
    base: Any,
    revision: Any,
    direction: Direction,
    report: Report,
    location_id: str,
    location: str,
) -> None:
    """Compare two schemas seen at one location."""
    compare_schemas(pair, base, revision, direction, schema_emitter(report, location_id, location))


def parameters(
    resolver: Resolver, op: dict[str, Any], shared: list[Any]
) -> dict[tuple[str, str], dict[str, Any]]:
    """Parameters by (place, name); path parameters by position, header names case-folded."""
    params: dict[tuple[str, str], dict[str, Any]] = {}
    position = 0
    for raw in [*shared, *(op.get("parameters") or [])]:
        param, _ = resolver.deref(raw)
        if not isinstance(param, dict) or param.get("in") not in PARAMETER_PLACES:
            continue
        where = str(param["in"])
        name = str(param.get("name", ""))
        if where == "path":
            name = f"#{position}"
            position += 1
        elif where == "header":
            name = name.lower()
        params[(where, name)] = param
    return params


def diff_parameters(
    pair: SchemaPair,
    base_params: dict[tuple[str, str], dict[str, Any]],
    rev_params: dict[tuple[str, str], dict[str, Any]],
    report: Report,
) -> None:
    """Parameters added, removed, made required or optional, and their schemas."""
    for key in sorted(base_params.keys() | rev_params.keys()):
        where = key[0]
        rule = f"request-parameter-{where}"
        shown = (rev_params.get(key) or base_params[key]).get("name", key[1])
        location = f"parameter {where} {shown}"
        if key not in rev_params:
            if where != "path":  # a path parameter cannot go without changing the path
                report(f"{rule}-removed", location, "parameter removed (clients still send it)")
            continue
        rev_param = rev_params[key]
        rev_required = bool(rev_param.get("required", False))
        if key not in base_params:
            if where == "path":
                continue
            if rev_required:
                report(f"{rule}-required-added", location, "new required parameter")
            else:
                report(f"{rule}-added", location, "new optional parameter")
            continue
        base_param = base_params[key]
        if where != "path":
            if rev_required and not base_param.get("required", False):
                report(f"{rule}-became-required", location, "parameter is now required")
            elif base_param.get("required", False) and not rev_required:
                report(f"{rule}-became-optional", location, "parameter is now optional")
        old_style, new_style = _serialization(base_param), _serialization(rev_param)
        if old_style != new_style:
            report(
                f"{rule}-serialization-changed",
                location,
                f"style/explode changed from {old_style} to {new_style}",
            )
        compare_schema_at(
            pair,
            _parameter_schema(pair.base, base_param),
            _parameter_schema(pair.revision, rev_param),
            "request",
            report,
            rule,
            location,
        )


def _serialization(param: dict[str, Any]) -> tuple[str, bool]:
    """Effective (style, explode): ``form`` for query and cookie, ``simple`` for path and header;
    ``explode`` defaults to true for ``form`` only (OpenAPI 3.1 §4.8.12.4)."""
    default = "form" if param.get("in") in ("query", "cookie") else "simple"
    style = str(param.get("style", default))
    return style, bool(param.get("explode", style == "form"))


def _parameter_schema(resolver: Resolver, param: dict[str, Any]) -> Any:
    """A parameter's ``schema``, or the one schema of its ``content`` map."""
    if "schema" in param:
        return param["schema"]
    _, content = media_types(resolver, param)
    for media in content.values():
        return media.get("schema", {})
    return {}


def media_types(resolver: Resolver, node: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The resolved object and its ``content`` by media type (parameters dropped, lower-cased)."""
    resolved, _ = resolver.deref(node)
    if not isinstance(resolved, dict):
        return {}, {}
    content = resolved.get("content") or {}
    if not isinstance(content, dict):
        return resolved, {}
    return resolved, {
        str(k).split(";")[0].strip().lower(): v for k, v in content.items() if isinstance(v, dict)
    }


def diff_request_body(
    pair: SchemaPair, base_op: dict[str, Any], rev_op: dict[str, Any], report: Report
) -> None:
    """Request body added, removed, made required or optional; media types; schemas.

    Removing the body is ERR: clients keep sending it and the server now drops it silently (a PATCH
    whose fields are ignored loses data without an error), and removing every media type one by one
    is already ERR each.
    """
    base_body, base_content = media_types(pair.base, base_op.get("requestBody"))
    rev_body, rev_content = media_types(pair.revision, rev_op.get("requestBody"))
    location = "request body"
    if not base_body and not rev_body:
        return
    if not rev_body:
        report("request-body-removed", location, "the request body is no longer read")
        return
    rev_required = bool(rev_body.get("required", False))
    if not base_body:
        if rev_required:
            report("request-body-required-added", location, "new required request body")
        else:
            report("request-body-added", location, "new optional request body")
        return
    base_required = bool(base_body.get("required", False))
    if rev_required and not base_required:
        report("request-body-became-required", location, "the request body is now required")
    elif base_required and not rev_required:
        report("request-body-became-optional", location, "the request body is now optional")
    for media in sorted(base_content.keys() - rev_content.keys()):
        report("request-body-media-type-removed", f"{location} {media}", f"{media} refused")
    for media in sorted(rev_content.keys() - base_content.keys()):
        report("request-body-media-type-added", f"{location} {media}", f"{media} accepted")
    for media in sorted(base_content.keys() & rev_content.keys()):
        compare_schema_at(
            pair,
            base_content[media].get("schema", {}),
            rev_content[media].get("schema", {}),
            "request",
            report,
            "request-body",
            location,
        )


def _success(status: str) -> bool:
    return status.startswith("2")


def diff_responses(
    pair: SchemaPair, base_op: dict[str, Any], rev_op: dict[str, Any], report: Report
) -> None:
    """Statuses (2xx apart from the rest), media types, bodies, headers and links."""
    base_responses = {str(k).upper(): v for k, v in (base_op.get("responses") or {}).items()}
    rev_responses = {str(k).upper(): v for k, v in (rev_op.get("responses") or {}).items()}
    for status in sorted(base_responses.keys() - rev_responses.keys()):
        kind = "success" if _success(status) else "non-success"
        report(f"response-{kind}-status-removed", f"response {status}", f"{status} removed")
    for status in sorted(rev_responses.keys() - base_responses.keys()):
        kind = "success" if _success(status) else "non-success"
        report(f"response-{kind}-status-added", f"response {status}", f"{status} added")
    for status in sorted(base_responses.keys() & rev_responses.keys()):
        base_response, base_content = media_types(pair.base, base_responses[status])
        rev_response, rev_content = media_types(pair.revision, rev_responses[status])
        location = f"response {status}"
        for media in sorted(base_content.keys() - rev_content.keys()):
            report("response-media-type-removed", f"{location} {media}", f"{media} not returned")
        for media in sorted(rev_content.keys() - base_content.keys()):
            report("response-media-type-added", f"{location} {media}", f"{media} may be returned")
        for media in sorted(base_content.keys() & rev_content.keys()):
            compare_schema_at(
                pair,
                base_content[media].get("schema", {}),
                rev_content[media].get("schema", {}),
                "response",
                report,
                "response-body",
                location,
            )
        _diff_headers(pair, base_response, rev_response, location, report)
        _diff_links(base_response, rev_response, location, report)


def _headers(resolver: Resolver, response: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {}
    for name, raw in (response.get("headers") or {}).items():
        header, _ = resolver.deref(raw)
        if isinstance(header, dict) and str(name).lower() != "content-type":
            found[str(name).lower()] = header  # RFC 9110 §5.1: field names are case-insensitive
    return found


def _diff_headers(
    pair: SchemaPair,
    base_response: dict[str, Any],
    rev_response: dict[str, Any],
    location: str,
    report: Report,
) -> None:
    base_headers = _headers(pair.base, base_response)
    rev_headers = _headers(pair.revision, rev_response)
    for name in sorted(base_headers.keys() - rev_headers.keys()):
        required = bool(base_headers[name].get("required", False))
        rule = "response-required-header-removed" if required else "response-header-removed"
        report(rule, f"{location} header {name}", "header no longer sent")
    for name in sorted(rev_headers.keys() - base_headers.keys()):
        report("response-header-added", f"{location} header {name}", "header added")
    for name in sorted(base_headers.keys() & rev_headers.keys()):
        was = bool(base_headers[name].get("required", False))
        now = bool(rev_headers[name].get("required", False))
        where = f"{location} header {name}"
        if was and not now:
            report("response-header-became-optional", where, "header may now be absent")
        elif now and not was:
            report("response-header-became-required", where, "header is now always sent")
        compare_schema_at(
            pair,
            _parameter_schema(pair.base, base_headers[name]),
            _parameter_schema(pair.revision, rev_headers[name]),
            "response",
            report,
            "response-header",
            where,
        )


def _diff_links(
    base_response: dict[str, Any], rev_response: dict[str, Any], location: str, report: Report
) -> None:
    base_links = set((base_response.get("links") or {}).keys())
    rev_links = set((rev_response.get("links") or {}).keys())
    for name in sorted(base_links - rev_links):
        report("response-link-removed", f"{location} link {name}", f"link {name!r} removed")
    for name in sorted(rev_links - base_links):
        report("response-link-added", f"{location} link {name}", f"link {name!r} added")
