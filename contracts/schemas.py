"""Self-contained JSON Schemas per (operation, status), derived from the OpenAPI document.

FastAPI emits OpenAPI 3.1, whose schemas are JSON Schema 2020-12 with ``$ref`` pointers into
``#/components/schemas``. A validator for one response must not need the whole document, so each
schema is made self-contained here: every ``$ref`` into the document is inlined, except a reference
that recurses into itself, which is kept as a ``$ref`` into the schema's own ``$defs`` (inlining it
would never end). Each schema is marked with the 2020-12 dialect and can be checked with
``jsonschema``'s ``check_schema`` (``check_schemas``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DIALECT = "https://json-schema.org/draft/2020-12/schema"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
JSON_MEDIA = "application/json"

Schema = dict[str, Any]


@dataclass(frozen=True)
class ResponseSchema:
    """One documented response: media types and JSON body schema (``None``: no JSON body)."""

    operation: str
    status: str
    content_types: tuple[str, ...]
    schema: Schema | None


@dataclass(frozen=True)
class Operation:
    """One operation of the document, with its request body schema and documented responses."""

    operation_id: str
    method: str
    path: str
    request_schema: Schema | None
    responses: Mapping[str, ResponseSchema] = field(default_factory=dict)


def operation_id(method: str, path: str, spec: Mapping[str, Any]) -> str:
    """The ``operationId``, or ``"METHOD /path"`` for an operation that has none."""
    given = spec.get("operationId")
    return given if isinstance(given, str) and given else f"{method.upper()} {path}"


def operations(document: Mapping[str, Any]) -> dict[str, Operation]:
    """Every operation of ``document`` by operation id, its schemas self-contained."""
    found: dict[str, Operation] = {}
    for path, item in (document.get("paths") or {}).items():
        for method in HTTP_METHODS:
            spec = item.get(method)
            if not isinstance(spec, Mapping):
                continue
            op_id = operation_id(method, path, spec)
            responses = {
                str(status): ResponseSchema(
                    operation=op_id,
                    status=str(status),
                    content_types=tuple((response.get("content") or {}).keys()),
                    schema=_body_schema(response, document),
                )
                for status, response in (spec.get("responses") or {}).items()
            }
            request = spec.get("requestBody")
            request_schema = (
                _body_schema(request, document) if isinstance(request, Mapping) else None
            )
            found[op_id] = Operation(op_id, method.upper(), path, request_schema, responses)
    return found


def response_schemas(document: Mapping[str, Any]) -> dict[tuple[str, str], ResponseSchema]:
    """``{(operation_id, status): ResponseSchema}`` for every documented response."""
    return {
        (op.operation_id, status): response
        for op in operations(document).values()
        for status, response in op.responses.items()
    }


def json_media_type(content: Mapping[str, Any]) -> str | None:
    """The JSON media type among ``content``'s keys: ``application/json``, then any ``+json``."""
    if JSON_MEDIA in content:
        return JSON_MEDIA
    return next((media for media in content if media.split(";")[0].endswith("+json")), None)


def _body_schema(holder: Mapping[str, Any], document: Mapping[str, Any]) -> Schema | None:
    content = holder.get("content") or {}
    media = json_media_type(content)
    if media is None:
        return None
    schema = content[media].get("schema")
    return self_contained(schema, document) if isinstance(schema, Mapping) else None


def self_contained(schema: Mapping[str, Any], document: Mapping[str, Any]) -> Schema:
    """``schema`` with every ``#/...`` reference into ``document`` inlined, dialect marked."""
    defs: dict[str, Any] = {}

    def def_name(ref: str) -> str:
        return ref.rsplit("/", 1)[-1] or "root"

    def walk(node: Any, stack: frozenset[str]) -> Any:
        if isinstance(node, list):
            return [walk(item, stack) for item in node]
        if not isinstance(node, Mapping):
            return node
        ref = node.get("$ref")
        if not (isinstance(ref, str) and ref.startswith("#/")):
            return {key: walk(value, stack) for key, value in node.items()}
        siblings = {key: walk(value, stack) for key, value in node.items() if key != "$ref"}
        if ref in stack:
            name = def_name(ref)
            if name not in defs:
                defs[name] = True  # placeholder: breaks the cycle while the definition is built
                defs[name] = walk(resolve_pointer(document, ref), frozenset({ref}))
            target: Any = {"$ref": f"#/$defs/{name}"}
        else:
            target = walk(resolve_pointer(document, ref), stack | {ref})
        # 2020-12 lets keywords sit beside $ref; allOf keeps their meaning
        # once the target is inlined.
        return {"allOf": [target], **siblings} if siblings else target

    resolved = walk(schema, frozenset())
    result: Schema = {"$schema": DIALECT, **resolved} if isinstance(resolved, dict) else resolved
    if defs:
        result["$defs"] = {**result.get("$defs", {}), **defs}
    return result


def resolve_pointer(document: Mapping[str, Any], ref: str) -> Any:
    """The node a ``#/a/b`` JSON Pointer (RFC 6901) designates in ``document``."""
    node: Any = document
    for raw in ref[2:].split("/") if ref != "#/" else []:
        part = raw.replace("~1", "/").replace("~0", "~")
        try:
            node = node[int(part)] if isinstance(node, list) else node[part]
        except (KeyError, IndexError, ValueError, TypeError):
            raise ValueError(f"unresolvable $ref {ref!r}") from None
    return node


def check_schemas(document: Mapping[str, Any]) -> int:
    """Check every derived schema against the 2020-12 metaschema; returns how many were checked."""
    from jsonschema import Draft202012Validator

    checked = 0
    for op in operations(document).values():
        schemas = [op.request_schema, *(r.schema for r in op.responses.values())]
        for schema in schemas:
            if schema is not None:
                Draft202012Validator.check_schema(schema)
                checked += 1
    return checked
