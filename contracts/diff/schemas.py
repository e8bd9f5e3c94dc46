"""Direction-aware comparison of two JSON Schemas (request side or response side).

A request schema describes what the server *accepts*: the revision must accept everything the base
accepted, so narrowing is breaking and widening is harmless. A response schema describes what clients
*receive*: the revision must not send anything the base never sent, so widening is what breaks
(a new enum value, a property that may now be missing or null, a looser type). The same change is
therefore judged differently on each side; every rule below states its verdict for both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from contracts.diff.constraints import (
    Direction,
    Emit,
    compare_bounds,
    compare_enum,
    compare_nullable,
    show,
)
from contracts.diff.resolve import FlatSchema, Resolver
from contracts.jsonpath import format_path
from contracts.report import Severity

_MAX_DEPTH = 64


@dataclass(frozen=True)
class SchemaPair:
    """The two documents' resolvers, so each side's ``$ref`` is looked up in its own document."""

    base: Resolver
    revision: Resolver


def compare_schemas(
    pair: SchemaPair, base: Any, revision: Any, direction: Direction, emit: Emit
) -> None:
    """Compare two schema nodes, reporting through ``emit``."""
    _compare(pair, base, revision, direction, emit, (), frozenset(), frozenset(), 0)


def _types(schema: dict[str, Any]) -> frozenset[str] | None:
    kind = schema.get("type")
    if kind is None:
        return None
    kinds = frozenset(kind if isinstance(kind, list) else [kind])
    return kinds | {"integer"} if "number" in kinds else kinds


def _compare(
    pair: SchemaPair,
    base_node: Any,
    rev_node: Any,
    direction: Direction,
    emit: Emit,
    path: tuple[str | None, ...],
    base_trail: frozenset[str],
    rev_trail: frozenset[str],
    depth: int,
) -> None:
    base = pair.base.flatten(base_node, base_trail)
    rev = pair.revision.flatten(rev_node, rev_trail)
    if "$cycle" in base.schema or "$cycle" in rev.schema or depth > _MAX_DEPTH:
        return
    where = format_path(path)
    request = direction == "request"
    compare_nullable(base, rev, request, where, emit)

    base_types, rev_types = _types(base.schema), _types(rev.schema)
    if base_types != rev_types:
        accepted_before = base_types if request else rev_types
        accepted_after = rev_types if request else base_types
        widened = accepted_after is None or (
            accepted_before is not None and accepted_before <= accepted_after
        )
        severity = Severity.INFO if widened else Severity.ERR
        emit(
            severity,
            f"{direction}-type-changed",
            where,
            f"{direction} type changed from {show(base.schema.get('type'))} "
            f"to {show(rev.schema.get('type'))}",
        )
        if not widened:
            return

    compare_enum(base.schema, rev.schema, request, where, emit, direction)
    compare_bounds(base.schema, rev.schema, request, where, emit, direction)
    if base.schema.get("format") != rev.schema.get("format") and "format" in base.schema:
        emit(
            Severity.WARN,
            f"{direction}-format-changed",
            where,
            f"format changed from {show(base.schema.get('format'))} "
            f"to {show(rev.schema.get('format'))}",
        )
    _compare_properties(pair, base, rev, direction, emit, path, depth)
    if "items" in base.schema and "items" in rev.schema:
        _compare(
            pair,
            base.schema["items"],
            rev.schema["items"],
            direction,
            emit,
            (*path, None),
            base.refs,
            rev.refs,
            depth + 1,
        )
    base_extra, rev_extra = (
        base.schema.get("additionalProperties"),
        rev.schema.get("additionalProperties"),
    )
    if isinstance(base_extra, dict) and isinstance(rev_extra, dict):
        # Map values ({str: int}): every value sits at "any key" of the object.
        _compare(
            pair,
            base_extra,
            rev_extra,
            direction,
            emit,
            (*path, "*"),
            base.refs,
            rev.refs,
            depth + 1,
        )
    _compare_unions(pair, base, rev, direction, emit, path, depth)


def _compare_unions(
    pair: SchemaPair,
    base: FlatSchema,
    rev: FlatSchema,
    direction: Direction,
    emit: Emit,
    path: tuple[str | None, ...],
    depth: int,
) -> None:
    """Unions of several non-null schemas: same arity compares member by member, else a WARN."""
    for union in ("anyOf", "oneOf"):
        base_members, rev_members = base.schema.get(union), rev.schema.get(union)
        if not isinstance(base_members, list) and not isinstance(rev_members, list):
            continue
        if (
            isinstance(base_members, list)
            and isinstance(rev_members, list)
            and len(base_members) == len(rev_members)
        ):
            for old, new in zip(base_members, rev_members, strict=True):
                _compare(pair, old, new, direction, emit, path, base.refs, rev.refs, depth + 1)
            continue
        emit(
            Severity.WARN,
            f"{direction}-union-changed",
            format_path(path),
            f"{union} alternatives changed ({_count(base_members)} -> {_count(rev_members)})",
        )


def _count(members: Any) -> int:
    return len(members) if isinstance(members, list) else 0


def _compare_properties(
    pair: SchemaPair,
    base: FlatSchema,
    rev: FlatSchema,
    direction: Direction,
    emit: Emit,
    path: tuple[str | None, ...],
    depth: int,
) -> None:
    base_props: dict[str, Any] = base.schema.get("properties") or {}
    rev_props: dict[str, Any] = rev.schema.get("properties") or {}
    base_req = set(base.schema.get("required") or ())
    rev_req = set(rev.schema.get("required") or ())
    request = direction == "request"
    for name in rev_props.keys() - base_props.keys():
        where = format_path((*path, name))
        if request and name in rev_req:
            emit(
                Severity.ERR,
                "request-property-required-added",
                where,
                f"new required property {name!r}",
            )
        else:
            emit(
                Severity.INFO,
                f"{direction}-property-added",
                where,
                f"new optional property {name!r}" if request else f"new property {name!r}",
            )
    for name in base_props.keys() - rev_props.keys():
        where = format_path((*path, name))
        if request:
            closed = rev.schema.get("additionalProperties") is False
            severity = Severity.ERR if closed else Severity.WARN
            emit(
                severity,
                "request-property-removed",
                where,
                f"property {name!r} is no longer accepted",
            )
        else:
            emit(
                Severity.ERR,
                "response-property-removed",
                where,
                f"property {name!r} is no longer returned",
            )
    for name in sorted(base_props.keys() & rev_props.keys()):
        where = format_path((*path, name))
        was, now = name in base_req, name in rev_req
        if was != now:
            if request and now:
                emit(
                    Severity.ERR,
                    "request-property-became-required",
                    where,
                    f"property {name!r} is now required",
                )
            elif not request and not now:
                emit(
                    Severity.ERR,
                    "response-property-became-optional",
                    where,
                    f"property {name!r} may now be absent",
                )
            else:
                emit(
                    Severity.INFO,
                    f"{direction}-property-required-changed",
                    where,
                    f"property {name!r} required: {was} -> {now}",
                )
        _compare(
            pair,
            base_props[name],
            rev_props[name],
            direction,
            emit,
            (*path, name),
            base.refs,
            rev.refs,
            depth + 1,
        )
