"""Hypothesis strategies for request schemas: containers built here, scalars by hypothesis.

hypothesis-jsonschema 0.23.1 (the latest release) draws objects through a private Hypothesis API
(``cu.many(...).more()``) that Hypothesis 6.1xx removed, so ``from_schema`` fails on any object
schema with ``AttributeError: 'many' object has no attribute 'more'``. Objects, arrays, unions and
enums are therefore composed here from public strategies, and only leaf schemas (strings with
patterns and lengths, bounded numbers, booleans, null) are handed to ``from_schema``. Arrays are
kept short (at most :data:`MAX_ITEMS`) so generated requests stay small.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

MAX_ITEMS = 4
_CONTAINER_KEYS = ("anyOf", "oneOf", "properties", "items", "enum", "const", "allOf")
_ANNOTATIONS = ("title", "description", "default", "examples", "example", "deprecated")


def strategy_for(schema: Any) -> st.SearchStrategy[Any]:
    """A strategy drawing instances of ``schema`` (an inlined, ``$ref``-free JSON Schema)."""
    if not isinstance(schema, dict) or schema is True:
        return _any_scalar()
    if "const" in schema:
        return st.just(schema["const"])
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return st.sampled_from(schema["enum"])
    for union in ("anyOf", "oneOf"):
        members = schema.get(union)
        if isinstance(members, list) and members:
            siblings = {k: v for k, v in schema.items() if k not in (union, *_ANNOTATIONS)}
            return st.one_of(
                [strategy_for({**siblings, **m}) for m in members if isinstance(m, dict)]
            )
    if isinstance(schema.get("allOf"), list):
        merged = {k: v for k, v in schema.items() if k != "allOf"}
        for member in schema["allOf"]:
            merged = _merge(merged, member)
        return strategy_for(merged)
    kind = schema.get("type")
    if isinstance(kind, list):
        return st.one_of([strategy_for({**schema, "type": k}) for k in kind])
    if kind == "object" or (kind is None and "properties" in schema):
        return _object(schema)
    if kind == "array":
        return _array(schema)
    if kind is None:
        return _any_scalar()
    leaf = {k: v for k, v in schema.items() if k not in _ANNOTATIONS}
    return from_schema(leaf)


def _object(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    properties: dict[str, Any] = schema.get("properties") or {}
    required = [k for k in schema.get("required") or [] if k in properties]
    return st.fixed_dictionaries(
        {k: strategy_for(properties[k]) for k in required},
        optional={k: strategy_for(v) for k, v in properties.items() if k not in required},
    )


def _array(schema: dict[str, Any]) -> st.SearchStrategy[list[Any]]:
    low = int(schema.get("minItems", 0))
    high = max(low, min(int(schema.get("maxItems", MAX_ITEMS)), MAX_ITEMS))
    items = strategy_for(schema.get("items", {}))
    if schema.get("uniqueItems"):
        return st.lists(
            items, min_size=low, max_size=high, unique_by=lambda v: json.dumps(v, sort_keys=True)
        )
    return st.lists(items, min_size=low, max_size=high)


def _any_scalar() -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), st.text(max_size=20))


def _merge(a: dict[str, Any], b: Any) -> dict[str, Any]:
    if not isinstance(b, dict):
        return a
    merged = {**a, **{k: v for k, v in b.items() if k not in ("properties", "required")}}
    if "properties" in a or "properties" in b:
        merged["properties"] = {**(a.get("properties") or {}), **(b.get("properties") or {})}
    if "required" in a or "required" in b:
        merged["required"] = list(
            dict.fromkeys([*(a.get("required") or []), *(b.get("required") or [])])
        )
    return merged
