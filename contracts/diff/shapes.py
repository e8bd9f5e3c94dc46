"""Pure helpers for the schema walk: which types a schema admits, and how members are identified.

Kept apart from :mod:`contracts.diff.schemas` because none of them walks anything: each looks at one
schema node (following its union members' refs through the resolver) and answers one question.
"""

from __future__ import annotations

import json
from typing import Any

from contracts.diff.resolve import Resolver


def admitted_types(
    resolver: Resolver, schema: dict[str, Any], refs: frozenset[str]
) -> frozenset[str] | None:
    """The JSON types a schema admits (``None``: any); a bare union admits its members' types."""
    kind = schema.get("type")
    if kind is None:
        for union in ("anyOf", "oneOf"):
            members = schema.get(union)
            if isinstance(members, list) and members:
                found: set[str] = set()
                for member in members:
                    flat = resolver.flatten(member, refs)
                    member_types = (
                        None
                        if "$cycle" in flat.schema
                        else admitted_types(resolver, flat.schema, flat.refs)
                    )
                    if member_types is None:
                        return None
                    found |= member_types
                return frozenset(found)
        return implied_type(schema)
    kinds = frozenset(kind if isinstance(kind, list) else [kind])
    return kinds | {"integer"} if "number" in kinds else kinds


OBJECT_KEYWORDS = ("properties", "required", "additionalProperties", "dependentRequired")
ARRAY_KEYWORDS = ("items", "prefixItems", "contains")


def implied_type(schema: dict[str, Any]) -> frozenset[str] | None:
    """The type an untyped schema's keywords imply: ``properties`` an object, ``items`` an array.

    Strictly, a schema without ``type`` admits every type, but nobody writes ``properties`` for a
    string: read that way, adding the ``type: object`` the author left out is no change.
    """
    if any(key in schema for key in OBJECT_KEYWORDS):
        return frozenset({"object"})
    if any(key in schema for key in ARRAY_KEYWORDS):
        return frozenset({"array"})
    return None


def member_key(node: Any) -> str:
    """Identity of a union member: its ``$ref``, else its canonical JSON."""
    if isinstance(node, dict) and len(node) == 1:
        ref = node.get("$ref")
        if isinstance(ref, str):
            return ref
    return json.dumps(node, sort_keys=True, default=str)


#: Keywords beside a ``$ref`` that describe it without changing what it admits.
ANNOTATIONS = frozenset({"description", "title", "example", "examples", "$comment", "summary"})


def pure_ref(node: Any) -> str | None:
    """The target of a node that is a ``$ref`` with at most annotations beside it, else None."""
    if not isinstance(node, dict) or not isinstance(node.get("$ref"), str):
        return None
    return str(node["$ref"]) if all(k == "$ref" or k in ANNOTATIONS for k in node) else None


def untyped_unions(base: dict[str, Any], rev: dict[str, Any]) -> bool:
    """Untyped unions on both sides are compared member by member (see ``_unions``), not by type."""
    if "type" in base or "type" in rev:
        return False
    return any(
        isinstance(base.get(u), list) and isinstance(rev.get(u), list) for u in ("anyOf", "oneOf")
    )


def dependencies(value: Any) -> set[tuple[str, str]]:
    """``dependentRequired`` as (property, the property it requires) pairs."""
    if not isinstance(value, dict):
        return set()
    return {
        (str(name), str(dep))
        for name, deps in value.items()
        if isinstance(deps, list)
        for dep in deps
    }


def canonical(value: Any) -> str:
    """A stable text form for comparing keyword values regardless of key order."""
    return json.dumps(value, sort_keys=True, default=str)
