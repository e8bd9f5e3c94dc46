"""Schema fragment pairs, each placed at every schema location of the catalogue.

A fragment pair lists the change *kinds* it yields on the request side and, where they differ, on
the response side; placed at a location, the expected rule ids are ``<location>-<kind>`` for the
kinds the catalogue has at that location (``default-*`` exists on the request side only).
"""

from __future__ import annotations

import copy
from typing import Any

from contracts.diff.rules import LOWER_BOUNDS, RULES, SCHEMA_LOCATIONS, UPPER_BOUNDS, kebab
from tests.contracts.diff_cases import Case, Spec

Schema = dict[str, Any]
#: (name, base schema, revision schema, request kinds, response kinds)
Fragment = tuple[str, Schema, Schema, frozenset[str], frozenset[str]]


def _k(*kinds: str) -> frozenset[str]:
    return frozenset(kinds)


def pair(
    name: str,
    a: Schema,
    b: Schema,
    forward: tuple[str, ...],
    backward: tuple[str, ...],
    forward_response: tuple[str, ...] | None = None,
    backward_response: tuple[str, ...] | None = None,
) -> list[Fragment]:
    """A change and its reverse."""
    return [
        (
            f"{name}/forward",
            a,
            b,
            _k(*forward),
            _k(*(forward if forward_response is None else forward_response)),
        ),
        (
            f"{name}/backward",
            b,
            a,
            _k(*backward),
            _k(*(backward if backward_response is None else backward_response)),
        ),
    ]


S = {"type": "string"}
I = {"type": "integer"}  # noqa: E741 - reads as the JSON type


def obj(required: tuple[str, ...] = (), closed: bool = False, **props: Schema) -> Schema:
    """An object schema."""
    schema: Schema = {"type": "object", "properties": props}
    if required:
        schema["required"] = list(required)
    if closed:
        schema["additionalProperties"] = False
    return schema


def _bounds() -> list[list[Fragment]]:
    groups = []
    for key in (*UPPER_BOUNDS, *LOWER_BOUNDS):
        kind = "array" if "Items" in key or "Contains" in key else "string"
        kind = "object" if "Properties" in key else kind
        kind = (
            "number"
            if key in ("maximum", "minimum", "exclusiveMaximum", "exclusiveMinimum")
            else kind
        )
        base: Schema = {"type": kind}
        if "Contains" in key:
            base["contains"] = {"type": "integer"}
        low, high = {**base, key: 2}, {**base, key: 5}
        name = kebab(key)
        added = f"{name}-decreased" if key in UPPER_BOUNDS else f"{name}-increased"
        removed = f"{name}-increased" if key in UPPER_BOUNDS else f"{name}-decreased"
        groups.append(
            pair(f"{name}-raised", low, high, (f"{name}-increased",), (f"{name}-decreased",))
            + pair(f"{name}-added", base, low, (added,), (removed,))
        )
    return groups


def fragment_groups() -> list[tuple[list[Fragment], frozenset[str]]]:
    """Groups of fragments, each with the kinds the group is about."""
    groups: list[list[Fragment]] = [
        pair(
            "nullable", S, {"type": ["string", "null"]}, ("nullable-added",), ("nullable-removed",)
        )
        + pair(
            "nullable-3.0",
            S,
            {"type": "string", "nullable": True},
            ("nullable-added",),
            ("nullable-removed",),
        )
        + pair(
            "nullable-any-of",
            S,
            {"anyOf": [S, {"type": "null"}]},
            ("nullable-added",),
            ("nullable-removed",),
        )
        + [
            (
                "nullable-spellings/same",
                {"type": ["string", "null"]},
                {**S, "nullable": True},
                _k(),
                _k(),
            )
        ],
        pair("type-number", I, {"type": "number"}, ("type-widened",), ("type-narrowed",))
        + pair(
            "type-list", S, {"type": ["string", "integer"]}, ("type-widened",), ("type-narrowed",)
        )
        + pair("type-string-integer", S, I, ("type-changed",), ("type-changed",)),
        pair("format", S, {**S, "format": "email"}, ("format-added",), ("format-removed",))
        + pair(
            "format-date",
            {**S, "format": "date"},
            {**S, "format": "date-time"},
            ("format-changed",),
            ("format-changed",),
        )
        + [("format-same", {**S, "format": "date"}, {**S, "format": "date"}, _k(), _k())],
        pair("enum", S, {**S, "enum": ["a", "b"]}, ("enum-added",), ("enum-removed",))
        + pair(
            "enum-values",
            {**S, "enum": ["a", "b"]},
            {**S, "enum": ["a", "b", "c"]},
            ("enum-value-added",),
            ("enum-value-removed",),
        )
        + [("enum-reordered", {**S, "enum": ["a", "b"]}, {**S, "enum": ["b", "a"]}, _k(), _k())],
        pair(
            "extensible-enum",
            {**S, "x-extensible-enum": ["a"]},
            {**S, "x-extensible-enum": ["a", "b"]},
            ("extensible-enum-value-added",),
            ("extensible-enum-value-removed",),
        ),
        pair("const", S, {**S, "const": "v1"}, ("const-added",), ("const-removed",))
        + pair(
            "const-value",
            {**S, "const": "v1"},
            {**S, "const": "v2"},
            ("const-changed",),
            ("const-changed",),
        ),
        pair("pattern", S, {**S, "pattern": "^[a-z]+$"}, ("pattern-added",), ("pattern-removed",))
        + pair(
            "pattern-value",
            {**S, "pattern": "^[a-z]+$"},
            {**S, "pattern": "^[a-z0-9]+$"},
            ("pattern-changed",),
            ("pattern-changed",),
        ),
        pair("default", I, {**I, "default": 50}, ("default-added",), ("default-removed",), (), ())
        + pair(
            "default-value",
            {**I, "default": 50},
            {**I, "default": 20},
            ("default-changed",),
            ("default-changed",),
            (),
            (),
        ),
        pair(
            "unique-items",
            {"type": "array"},
            {"type": "array", "uniqueItems": True},
            ("unique-items-added",),
            ("unique-items-removed",),
        ),
        pair(
            "exclusive-3.0-vs-3.1",
            {"type": "number", "minimum": 5, "exclusiveMinimum": True},
            {"type": "number", "exclusiveMinimum": 5},
            (),
            (),
        )
        + pair(
            "exclusive-3.0-flag",
            {"type": "number", "minimum": 5},
            {"type": "number", "minimum": 5, "exclusiveMinimum": True},
            ("minimum-decreased", "exclusive-minimum-increased"),
            ("minimum-increased", "exclusive-minimum-decreased"),
        ),
        pair(
            "optional-property",
            obj(a=S),
            obj(a=S, b=S),
            ("property-added",),
            ("property-removed",),
        )
        + pair(
            "required-property",
            obj(("a",), a=S),
            obj(("a", "b"), a=S, b=S),
            ("required-property-added",),
            ("property-removed",),
            ("property-added",),
            ("required-property-removed",),
        )
        + pair(
            "closed-object-property",
            obj(closed=True, a=S, b=S),
            obj(closed=True, a=S),
            ("property-rejected",),
            ("property-added",),
            ("property-removed",),
            ("property-added",),
        )
        + pair(
            "read-only-required",
            obj(("a",), a=S),
            obj(("a", "id"), a=S, id={**S, "readOnly": True}),
            (),
            (),
            ("property-added",),
            ("required-property-removed",),
        )
        + pair(
            "write-only",
            obj(a=S, secret={**S, "writeOnly": True}),
            obj(a=S),
            ("property-removed",),
            ("property-added",),
            (),
            (),
        ),
        pair(
            "required",
            obj(a=S),
            obj(("a",), a=S),
            ("property-became-required",),
            ("property-became-optional",),
        )
        + pair(
            "nested",
            {"type": "array", "items": obj(a=obj(b=I))},
            {"type": "array", "items": obj(a=obj(b=S))},
            ("type-changed",),
            ("type-changed",),
        ),
        pair(
            "additional-properties",
            obj(a=S),
            obj(closed=True, a=S),
            ("additional-properties-closed",),
            ("additional-properties-opened",),
        ),
        [
            *pair(
                "any-of",
                {"anyOf": [S, I]},
                {"anyOf": [S, I, {"type": "boolean"}]},
                ("any-of-member-added",),
                ("any-of-member-removed",),
            ),
            ("any-of-reordered", {"anyOf": [S, I]}, {"anyOf": [I, S]}, _k(), _k()),
        ],
        [
            *pair(
                "one-of",
                {"oneOf": [S, I]},
                {"oneOf": [S, I, {"type": "boolean"}]},
                ("one-of-member-added",),
                ("one-of-member-removed",),
            ),
            (
                "one-of-member-changed",
                {"oneOf": [S, I]},
                {"oneOf": [S, {"type": "boolean"}]},
                _k("type-changed"),
                _k("type-changed"),
            ),
        ],
        [
            *pair(
                "all-of",
                {"allOf": [S]},
                {"allOf": [S, {"pattern": "^a"}]},
                ("all-of-member-added", "pattern-added"),
                ("all-of-member-removed", "pattern-removed"),
            ),
            (
                "all-of-member-edited",
                {"allOf": [S, {"pattern": "^a"}]},
                {"allOf": [S, {"pattern": "^b"}]},
                _k("pattern-changed"),
                _k("pattern-changed"),
            ),
        ],
        pair(
            "dependent-required",
            obj(a=S, b=S),
            {**obj(a=S, b=S), "dependentRequired": {"a": ["b"]}},
            ("dependent-required-added",),
            ("dependent-required-removed",),
        ),
        pair(
            "conditional",
            obj(a=S),
            {**obj(a=S), "if": {"required": ["a"]}, "then": {"required": ["b"]}},
            ("conditional-added",),
            ("conditional-removed",),
        )
        + pair(
            "conditional-then",
            {**obj(a=S), "if": {"required": ["a"]}, "then": {"required": ["b"]}},
            {**obj(a=S), "if": {"required": ["a"]}, "then": {"required": ["c"]}},
            ("conditional-changed",),
            ("conditional-changed",),
        ),
        pair(
            "contains",
            {"type": "array"},
            {"type": "array", "contains": {"const": "x"}},
            ("contains-added",),
            ("contains-removed",),
        )
        + pair(
            "contains-schema",
            {"type": "array", "contains": {"const": "x"}},
            {"type": "array", "contains": {"const": "y"}},
            ("contains-changed",),
            ("contains-changed",),
        ),
        pair(
            "prefix-items",
            {"type": "array", "prefixItems": [I]},
            {"type": "array", "prefixItems": [I, S]},
            ("prefix-items-added",),
            ("prefix-items-removed",),
        )
        + pair(
            "prefix-item-type",
            {"type": "array", "prefixItems": [I]},
            {"type": "array", "prefixItems": [S]},
            ("type-changed",),
            ("type-changed",),
        ),
        [
            *pair(
                "multiple-of",
                {"type": "number", "multipleOf": 2},
                {"type": "number", "multipleOf": 4},
                ("multiple-of-narrowed",),
                ("multiple-of-widened",),
            ),
            *pair(
                "multiple-of-added",
                {"type": "number"},
                {"type": "number", "multipleOf": 2},
                ("multiple-of-narrowed",),
                ("multiple-of-widened",),
            ),
            *pair(
                "multiple-of-coprime",
                {"type": "number", "multipleOf": 2},
                {"type": "number", "multipleOf": 3},
                ("multiple-of-changed",),
                ("multiple-of-changed",),
            ),
        ],
        [
            (
                "implicit-object",
                {"properties": {"a": S}},
                obj(a=S),
                _k(),
                _k(),
            ),
            ("implicit-array", {"items": S}, {"type": "array", "items": S}, _k(), _k()),
            *pair("typed", {}, {"type": "object"}, ("type-narrowed",), ("type-widened",)),
        ],
        [("description-only", {**S, "description": "a"}, {**S, "description": "b"}, _k(), _k())],
        *_bounds(),
    ]
    return [(group, _about(group)) for group in groups]


def _about(group: list[Fragment]) -> frozenset[str]:
    kinds: set[str] = set()
    for _, _, _, request, response in group:
        kinds |= request | response
    return frozenset(kinds)


def place(location: str, schema: Schema) -> Spec:
    """A minimal OpenAPI 3.1 document with ``schema`` at ``location``."""
    doc: Spec = {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {}}
    ok = {"description": "ok"}
    if location == "request-body":
        doc["paths"]["/things"] = {
            "post": {
                "requestBody": {"content": {"application/json": {"schema": schema}}},
                "responses": {"200": ok},
            }
        }
    elif location.startswith("request-parameter-"):
        where = location.removeprefix("request-parameter-")
        param = {"name": "p", "in": where, "required": where == "path", "schema": schema}
        path = "/things/{p}" if where == "path" else "/things"
        doc["paths"][path] = {"get": {"parameters": [param], "responses": {"200": ok}}}
    elif location == "response-body":
        doc["paths"]["/things"] = {
            "get": {
                "responses": {"200": {**ok, "content": {"application/json": {"schema": schema}}}}
            }
        }
    elif location == "response-header":
        doc["paths"]["/things"] = {
            "get": {"responses": {"200": {**ok, "headers": {"X-P": {"schema": schema}}}}}
        }
    elif location == "webhook-request-body":
        doc["webhooks"] = {
            "thing": {
                "post": {
                    "requestBody": {"content": {"application/json": {"schema": schema}}},
                    "responses": {"200": ok},
                }
            }
        }
    else:
        raise ValueError(location)
    return doc


def _ids(location: str, kinds: frozenset[str]) -> frozenset[str]:
    return frozenset(f"{location}-{k}" for k in kinds if f"{location}-{k}" in RULES)


def schema_cases() -> list[Case]:
    """Every fragment at every schema location."""
    cases = []
    for group, about in fragment_groups():
        for location, direction in SCHEMA_LOCATIONS.items():
            for name, base, revision, request, response in group:
                kinds = request if direction == "request" else response
                cases.append(
                    Case(
                        f"{location}:{name}",
                        place(location, copy.deepcopy(base)),
                        place(location, copy.deepcopy(revision)),
                        _ids(location, kinds),
                        _ids(location, about),
                    )
                )
    return cases
