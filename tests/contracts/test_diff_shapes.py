"""The schema walk's pure helpers: admitted types, implied types, member identity."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.diff.resolve import Resolver
from contracts.diff.shapes import admitted_types, dependencies, implied_type, member_key, pure_ref

DOC: dict[str, Any] = {
    "components": {"schemas": {"Loop": {"anyOf": [{"$ref": "#/components/schemas/Loop"}]}}}
}


@pytest.mark.parametrize(
    ("schema", "types"),
    [
        ({"type": "string"}, {"string"}),
        ({"type": "number"}, {"number", "integer"}),
        ({"type": ["string", "integer"]}, {"string", "integer"}),
        ({"anyOf": [{"type": "string"}, {"type": "boolean"}]}, {"string", "boolean"}),
        ({"anyOf": [{"type": "string"}, {}]}, None),
        ({"properties": {"a": {}}}, {"object"}),
        ({"items": {}}, {"array"}),
        ({}, None),
    ],
)
def test_admitted_types(schema: dict[str, Any], types: set[str] | None) -> None:
    """A schema admits its types, its union members' types, or what its keywords imply."""
    found = admitted_types(Resolver(DOC), schema, frozenset())
    assert found == (frozenset(types) if types is not None else None)


def test_self_referencing_union_admits_anything() -> None:
    """A union whose member refers back to itself stops at the cycle (found by the fuzz test)."""
    schema = DOC["components"]["schemas"]["Loop"]
    assert admitted_types(Resolver(DOC), schema, frozenset()) is None


def test_implied_type_needs_a_keyword() -> None:
    """Only object or array keywords imply a type; an empty schema admits anything."""
    assert implied_type({"required": ["a"]}) == frozenset({"object"})
    assert implied_type({"description": "x"}) is None


def test_member_identity() -> None:
    """Members are identified by $ref, else by content; a ref with annotations beside it is pure."""
    assert member_key({"$ref": "#/A"}) == "#/A"
    assert member_key({"type": "string", "maxLength": 3}) == member_key(
        {"maxLength": 3, "type": "string"}
    )
    assert pure_ref({"$ref": "#/A", "description": "x"}) == "#/A"
    assert pure_ref({"$ref": "#/A", "nullable": True}) is None


def test_dependencies_as_pairs() -> None:
    """dependentRequired becomes (property, required property) pairs; junk is ignored."""
    assert dependencies({"card": ["cvv", "expiry"], "bad": "x"}) == {
        ("card", "cvv"),
        ("card", "expiry"),
    }
    assert dependencies(None) == set()
