"""The contract's operations as plain values: parameters, body schema, examples, responses.

``$ref`` is inlined here (depth-capped, so a recursive schema cannot loop) because the case
generator needs self-contained schemas, and OpenAPI 3.0's ``nullable`` becomes a JSON Schema type
list.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from contracts.diff.operations import METHODS
from contracts.diff.resolve import Resolver

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_MAX_INLINE_DEPTH = 12


@dataclass(frozen=True)
class Parameter:
    """A path, query or header parameter with its inlined schema and example (if documented)."""

    name: str
    location: str
    required: bool
    schema: dict[str, Any]
    example: Any = None
    has_example: bool = False


@dataclass(frozen=True)
class Operation:
    """One method on one path template."""

    method: str
    path: str
    operation_id: str
    parameters: tuple[Parameter, ...]
    body_schema: dict[str, Any] | None
    body_required: bool
    body_examples: tuple[Any, ...]
    responses: dict[str, tuple[str, ...]] = field(default_factory=dict)
    requires_auth: bool = False

    @property
    def key(self) -> str:
        """``"METHOD /path/template"``: the subject name in reports and rule files."""
        return f"{self.method} {self.path}"

    @property
    def safe(self) -> bool:
        """True for methods that must not change state (RFC 9110 §9.2.1)."""
        return self.method in SAFE_METHODS

    def path_parameters(self) -> tuple[Parameter, ...]:
        """The path parameters, in template order."""
        return tuple(p for p in self.parameters if p.location == "path")


def load_operations(doc: dict[str, Any]) -> tuple[Operation, ...]:
    """Every operation of ``doc`` in document order."""
    resolver = Resolver(doc)
    found: list[Operation] = []
    for path, raw_item in (doc.get("paths") or {}).items():
        item, _ = resolver.deref(raw_item)
        if not isinstance(item, dict):
            continue
        for method in METHODS:
            op = item.get(method)
            if isinstance(op, dict):
                operation = _operation(
                    resolver, method.upper(), path, op, item.get("parameters") or []
                )
                security = op.get("security", doc.get("security")) or []
                # Auth is required when every alternative names a scheme ({} means "anonymous").
                secured = bool(security) and all(bool(req) for req in security)
                found.append(replace(operation, requires_auth=secured))
    return tuple(found)


def _operation(
    resolver: Resolver, method: str, path: str, op: dict[str, Any], shared: list[Any]
) -> Operation:
    params: dict[tuple[str, str], Parameter] = {}
    for raw in [*shared, *(op.get("parameters") or [])]:
        param, _ = resolver.deref(raw)
        if not isinstance(param, dict) or param.get("in") not in ("path", "query", "header"):
            continue
        schema = inline(resolver, param.get("schema") or {})
        example, has_example = _first_example(param, schema)
        params[(param["in"], param["name"])] = Parameter(
            name=str(param["name"]),
            location=str(param["in"]),
            required=bool(param.get("required", param["in"] == "path")),
            schema=schema,
            example=example,
            has_example=has_example,
        )
    body, _ = resolver.deref(op.get("requestBody") or {})
    media = _json_media(body.get("content") or {}) if isinstance(body, dict) else None
    body_schema = inline(resolver, media.get("schema") or {}) if media is not None else None
    body_examples: list[Any] = []
    if media is not None and body_schema is not None:
        if "example" in media:
            body_examples.append(media["example"])
        for named in (media.get("examples") or {}).values():
            resolved, _ = resolver.deref(named)
            if isinstance(resolved, dict) and "value" in resolved:
                body_examples.append(resolved["value"])
        body_examples.extend(body_schema.get("examples") or [])
        if "example" in body_schema:
            body_examples.append(body_schema["example"])
    responses: dict[str, tuple[str, ...]] = {}
    for status, raw_response in (op.get("responses") or {}).items():
        response, _ = resolver.deref(raw_response)
        content = response.get("content") if isinstance(response, dict) else None
        responses[str(status)] = tuple(
            str(k).split(";")[0].strip().lower() for k in (content or {})
        )
    return Operation(
        method=method,
        path=path,
        operation_id=str(op.get("operationId") or f"{method} {path}"),
        parameters=tuple(params.values()),
        body_schema=body_schema,
        body_required=bool(body.get("required", False)) if isinstance(body, dict) else False,
        body_examples=tuple(body_examples),
        responses=responses,
    )


def _json_media(content: dict[str, Any]) -> dict[str, Any] | None:
    for media_type, media in content.items():
        if "json" in str(media_type).lower() and isinstance(media, dict):
            return media
    return None


def _first_example(param: dict[str, Any], schema: dict[str, Any]) -> tuple[Any, bool]:
    if "example" in param:
        return param["example"], True
    for named in (param.get("examples") or {}).values():
        if isinstance(named, dict) and "value" in named:
            return named["value"], True
    if schema.get("examples"):
        return schema["examples"][0], True
    if "example" in schema:
        return schema["example"], True
    return None, False


def inline(resolver: Resolver, schema: Any, depth: int = 0) -> dict[str, Any]:
    """``schema`` with local ``$ref`` replaced by their targets, ``nullable`` as a type list."""
    if not isinstance(schema, dict):
        return {}
    if depth > _MAX_INLINE_DEPTH:
        return {}
    node, _ = resolver.deref(schema)
    if not isinstance(node, dict):
        return {}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("properties", "patternProperties", "$defs", "definitions") and isinstance(
            value, dict
        ):
            out[key] = {k: inline(resolver, v, depth + 1) for k, v in value.items()}
        elif key in ("items", "additionalProperties", "not", "contains") and isinstance(
            value, dict
        ):
            out[key] = inline(resolver, value, depth + 1)
        elif key in ("allOf", "anyOf", "oneOf", "prefixItems") and isinstance(value, list):
            out[key] = [inline(resolver, v, depth + 1) for v in value]
        elif key in (
            "nullable",
            "discriminator",
            "xml",
            "externalDocs",
            "deprecated",
            "readOnly",
            "writeOnly",
        ):
            continue
        else:
            out[key] = value
    if node.get("nullable") is True and "type" in out:
        kinds = out["type"] if isinstance(out["type"], list) else [out["type"]]
        out["type"] = [*kinds, "null"]
    return out
