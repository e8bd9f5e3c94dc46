"""Request cases for one operation: the documented examples plus cases generated from the schemas.

Generation uses hypothesis-jsonschema directly rather than schemathesis: ``check`` must send *the
same* request to two backends and compare the answers, and run writes in a stateful order (create →
read → update → delete with each side's own id), which schemathesis' single-target runner does not
model; hypothesis-jsonschema gives plain values we can send anywhere, and is already a dependency
(see :mod:`contracts.check.strategies` for why containers are composed by hand).

Generated inputs stay inside the documented schemas (valid requests): the point is that both
backends agree on *valid* traffic. Path and query strings without a documented pattern are drawn
from URL-safe / printable ASCII so that a case tests the API, not the HTTP parser's handling of
control characters. Header parameters are not generated (auth headers are the tool's own).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed

from contracts.check.operations import Operation, Parameter
from contracts.check.strategies import strategy_for

PATH_STRING = "^[A-Za-z0-9_-]{1,40}$"
QUERY_STRING = "^[ -~]{0,60}$"


@dataclass(frozen=True)
class Case:
    """One request to send to both backends."""

    operation: Operation
    label: str
    path_params: Mapping[str, Any] = field(default_factory=dict)
    query: tuple[tuple[str, str], ...] = ()
    body: Any = None
    has_body: bool = False
    credentials: str = "valid"

    @property
    def name(self) -> str:
        """The case's name in reports: ``GET /api/v1/tasks [generated 2]``."""
        return f"{self.operation.key} [{self.label}]"

    def url_path(self, overrides: Mapping[str, Any] | None = None) -> str:
        """The concrete path: parameters substituted (``overrides`` win), percent-encoded."""
        values = {**self.path_params, **(overrides or {})}
        path = self.operation.path
        for name, value in values.items():
            path = path.replace("{" + name + "}", quote(_scalar(value), safe=""))
        return path

    def with_path_params(self, values: Mapping[str, Any], label: str) -> Case:
        """The same request aimed at other path parameter values (e.g. an id returned by create)."""
        return replace(self, path_params={**self.path_params, **values}, label=label)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def query_pairs(values: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """Encode query values the way FastAPI reads them: lists repeat the key, ``None`` is omitted."""
    pairs: list[tuple[str, str]] = []
    for name, value in values.items():
        if value is None:
            continue
        for item in value if isinstance(value, list) else [value]:
            if item is not None:
                pairs.append((name, _scalar(item)))
    return tuple(pairs)


def _restrict_strings(schema: dict[str, Any], pattern: str) -> dict[str, Any]:
    """Give unconstrained string schemas (also inside arrays and unions) a safe alphabet."""
    out = dict(schema)
    kinds = out.get("type")
    is_string = kinds == "string" or (isinstance(kinds, list) and "string" in kinds)
    if is_string and not ({"pattern", "enum", "format", "const"} & out.keys()):
        out["pattern"] = pattern
    if isinstance(out.get("items"), dict):
        out["items"] = _restrict_strings(out["items"], pattern)
    for union in ("anyOf", "oneOf"):
        if isinstance(out.get(union), list):
            out[union] = [_restrict_strings(s, pattern) for s in out[union]]
    return out


def _group(params: tuple[Parameter, ...], location: str, pattern: str) -> dict[str, Any]:
    chosen = [p for p in params if p.location == location]
    return {
        "type": "object",
        "properties": {p.name: _restrict_strings(p.schema, pattern) for p in chosen},
        "required": [p.name for p in chosen if p.required],
        "additionalProperties": False,
    }


def request_schema(operation: Operation) -> dict[str, Any]:
    """One JSON Schema whose instances are whole requests: ``{"path", "query", "body"?}``."""
    properties: dict[str, Any] = {
        "path": _group(operation.parameters, "path", PATH_STRING),
        "query": _group(operation.parameters, "query", QUERY_STRING),
    }
    required = ["path", "query"]
    if operation.body_schema is not None:
        properties["body"] = operation.body_schema
        if operation.body_required:
            required.append("body")
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def generate_values(schema: dict[str, Any], count: int, seed: int) -> list[Any]:
    """Up to ``count`` distinct instances of ``schema``, reproducible for a given ``seed``."""
    if count <= 0:
        return []
    found: dict[str, Any] = {}

    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis_seed(seed)
    @given(strategy_for(schema))
    def collect(value: Any) -> None:
        found.setdefault(json.dumps(value, sort_keys=True), value)

    collect()
    return list(found.values())[:count]


def cases_for(operation: Operation, max_examples: int, seed: int) -> list[Case]:
    """The example case (documented values, else the first generated one) then generated cases."""
    generated = generate_values(request_schema(operation), max(max_examples, 1), seed)
    cases = [_case(operation, value, f"generated {i + 1}") for i, value in enumerate(generated)]
    documented = [p for p in operation.parameters if p.has_example]
    if operation.body_examples or documented:
        template = generated[0] if generated else {"path": {}, "query": {}}
        for i, body in enumerate(operation.body_examples or (template.get("body"),)):
            value = {
                "path": {
                    **template.get("path", {}),
                    **{p.name: p.example for p in documented if p.location == "path"},
                },
                "query": {
                    **template.get("query", {}),
                    **{p.name: p.example for p in documented if p.location == "query"},
                },
            }
            if operation.body_schema is not None and (body is not None or operation.body_required):
                value["body"] = body
            cases.insert(i, _case(operation, value, f"example {i + 1}"))
    if not cases:
        cases.append(_case(operation, {"path": {}, "query": {}}, "plain"))
    return cases[: max(max_examples, 1) + len(operation.body_examples)]


def auth_cases(operation: Operation, template: Case) -> list[Case]:
    """For a secured operation: the same request without credentials and with a wrong key.

    API.md: auth is checked before body validation, so both backends must answer 401 with the same
    ``detail`` whatever the body; the request never reaches the handler.
    """
    if not operation.requires_auth:
        return []
    return [
        replace(template, label="no credentials", credentials="none"),
        replace(template, label="wrong credentials", credentials="wrong"),
    ]


def _case(operation: Operation, value: dict[str, Any], label: str) -> Case:
    return Case(
        operation=operation,
        label=label,
        path_params=dict(value.get("path") or {}),
        query=query_pairs(value.get("query") or {}),
        body=value.get("body"),
        has_body="body" in value,
    )
