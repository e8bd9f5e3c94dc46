"""Direction-aware comparison of two JSON Schemas (request side or response side).

A request schema describes what the server *accepts*: the revision must accept everything the base
accepted, so narrowing is breaking and widening is harmless. A response schema describes what clients
*receive*: the revision must not send anything the base never sent, so widening is what breaks
(a new enum value, a property that may now be missing or null, a looser type). The walk here reports
*kinds* of change; :mod:`contracts.diff.rules` holds the verdict of each kind on each side.

Two keywords change what is compared rather than how: a ``readOnly`` property is never sent in a
request (so adding a required one breaks no client) and a ``writeOnly`` property is never returned
(so removing one breaks no reader); each side drops the properties it never sees.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from contracts.diff.constraints import (
    Direction,
    Where,
    compare_bounds,
    compare_const,
    compare_enum,
    compare_nullable,
    compare_text,
    show,
)
from contracts.diff.resolve import FlatSchema, Resolver
from contracts.jsonpath import format_path

_MAX_DEPTH = 64
Path = Where
#: Report one change to the caller: kind, JSON path (``$.items[*].id``), message.
Emit = Callable[[str, str, str], None]
Change = tuple[str, Path, str]


@dataclass(frozen=True)
class SchemaPair:
    """The two documents' resolvers, so each side's ``$ref`` is looked up in its own document.

    ``seen`` holds the changes found below each pair of ``$ref`` (per direction) for the whole diff
    (see :class:`_Walk`).
    """

    base: Resolver
    revision: Resolver
    seen: dict[tuple[str, str, str], list[Change]] = field(default_factory=dict, compare=False)


def compare_schemas(
    pair: SchemaPair, base: Any, revision: Any, direction: Direction, emit: Emit
) -> None:
    """Compare two schema nodes, reporting kinds of change through ``emit``."""
    walk = _Walk(pair, direction)
    walk.compare(base, revision, (), frozenset(), frozenset(), 0)
    for kind, path, message in walk.changes:
        emit(kind, format_path(path), message)


def _types(
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
                        None if "$cycle" in flat.schema else _types(resolver, flat.schema, refs)
                    )
                    if member_types is None:
                        return None
                    found |= member_types
                return frozenset(found)
        return None
    kinds = frozenset(kind if isinstance(kind, list) else [kind])
    return kinds | {"integer"} if "number" in kinds else kinds


def _key(node: Any) -> str:
    """Identity of a union member: its ``$ref``, else its canonical JSON."""
    if isinstance(node, dict) and isinstance(node.get("$ref"), str) and len(node) == 1:
        return node["$ref"]
    return json.dumps(node, sort_keys=True, default=str)


@dataclass
class _Walk:
    """One comparison: the changes found so far, and those found under each pair of ``$ref``.

    A large API refers to the same component from hundreds of operations; the changes below a pair
    of refs are recorded once (paths relative to the pair) and replayed under every later path, which
    makes the diff linear in the size of the documents rather than in the size of their expansion.
    """

    pair: SchemaPair
    direction: Direction
    changes: list[Change] = field(default_factory=list)

    def emit(self, kind: str, path: Path, message: str) -> None:
        self.changes.append((kind, path, message))

    def compare(
        self,
        base_node: Any,
        rev_node: Any,
        path: Path,
        base_trail: frozenset[str],
        rev_trail: frozenset[str],
        depth: int,
    ) -> None:
        base_ref, rev_ref = _pure_ref(base_node), _pure_ref(rev_node)
        if base_ref is None or rev_ref is None:
            self._compare(base_node, rev_node, path, base_trail, rev_trail, depth)
            return
        known = self.pair.seen.get((self.direction, base_ref, rev_ref))
        if known is not None:
            self.changes.extend((kind, (*path, *rel), msg) for kind, rel, msg in known)
            return
        start = len(self.changes)
        self._compare(base_node, rev_node, path, base_trail, rev_trail, depth)
        self.pair.seen[(self.direction, base_ref, rev_ref)] = [
            (kind, where[len(path) :], msg) for kind, where, msg in self.changes[start:]
        ]

    def _compare(
        self,
        base_node: Any,
        rev_node: Any,
        path: Path,
        base_trail: frozenset[str],
        rev_trail: frozenset[str],
        depth: int,
    ) -> None:
        base = self.pair.base.flatten(base_node, base_trail)
        rev = self.pair.revision.flatten(rev_node, rev_trail)
        if "$cycle" in base.schema or "$cycle" in rev.schema or depth > _MAX_DEPTH:
            return
        where = path
        compare_nullable(base, rev, where, self.emit)
        base_types = _types(self.pair.base, base.schema, base.refs)
        rev_types = _types(self.pair.revision, rev.schema, rev.refs)
        if base_types != rev_types and not _unions_on_both_sides(base.schema, rev.schema):
            shown = f"type changed from {show(base.schema.get('type'))} to {show(rev.schema.get('type'))}"
            if rev_types is None or (base_types is not None and base_types <= rev_types):
                self.emit("type-widened", where, shown)
            elif base_types is None or rev_types <= base_types:
                self.emit("type-narrowed", where, shown)
            else:
                self.emit("type-changed", where, shown)
                return
        compare_enum(base.schema, rev.schema, where, self.emit)
        compare_const(base.schema, rev.schema, where, self.emit)
        compare_bounds(base.schema, rev.schema, where, self.emit)
        compare_text(base.schema, rev.schema, self.direction, where, self.emit)
        self._all_of(base_node, rev_node, base_trail, rev_trail, where)
        self._properties(base, rev, path, depth)
        self._objects(base.schema, rev.schema, where)
        self._arrays(base, rev, path, depth)
        self._unions(base, rev, path, depth)

    def _child(
        self, base: FlatSchema, rev: FlatSchema, key: str, step: str | None, path: Path, depth: int
    ) -> None:
        self.compare(
            base.schema[key], rev.schema[key], (*path, step), base.refs, rev.refs, depth + 1
        )

    def _all_of(
        self,
        base_node: Any,
        rev_node: Any,
        base_trail: frozenset[str],
        rev_trail: frozenset[str],
        where: Path,
    ) -> None:
        """Members added to or dropped from ``allOf`` (the merged form hides keywords it cannot merge)."""
        base_raw, _ = self.pair.base.deref(base_node, base_trail)
        rev_raw, _ = self.pair.revision.deref(rev_node, rev_trail)
        if not isinstance(base_raw, dict) or not isinstance(rev_raw, dict):
            return
        old, new = base_raw.get("allOf"), rev_raw.get("allOf")
        if not isinstance(old, list) or not isinstance(new, list):
            return
        old_keys, new_keys = {_key(m) for m in old}, {_key(m) for m in new}
        for key in sorted(new_keys - old_keys):
            self.emit("all-of-member-added", where, f"allOf member added: {show(key)}")
        for key in sorted(old_keys - new_keys):
            self.emit("all-of-member-removed", where, f"allOf member removed: {show(key)}")

    def _visible(self, resolver: Resolver, schema: dict[str, Any]) -> dict[str, Any]:
        hidden = "readOnly" if self.direction == "request" else "writeOnly"
        props: dict[str, Any] = schema.get("properties") or {}
        if not isinstance(props, dict):
            return {}
        visible = {}
        for name, sub in props.items():
            node, _ = resolver.deref(sub)
            if not (isinstance(node, dict) and node.get(hidden) is True):
                visible[name] = sub
        return visible

    def _properties(self, base: FlatSchema, rev: FlatSchema, path: Path, depth: int) -> None:
        base_props = self._visible(self.pair.base, base.schema)
        rev_props = self._visible(self.pair.revision, rev.schema)
        base_req = set(base.schema.get("required") or ())
        rev_req = set(rev.schema.get("required") or ())
        request = self.direction == "request"
        emit = self.emit
        for name in sorted(rev_props.keys() - base_props.keys()):
            where = (*path, name)
            if request and name in rev_req:
                emit("required-property-added", where, f"new required property {name!r}")
            else:
                emit("property-added", where, f"new property {name!r}")
        for name in sorted(base_props.keys() - rev_props.keys()):
            where = (*path, name)
            if request:
                closed = rev.schema.get("additionalProperties") is False
                kind = "property-rejected" if closed else "property-removed"
                emit(kind, where, f"property {name!r} is no longer accepted")
            else:
                kind = "required-property-removed" if name in base_req else "property-removed"
                emit(kind, where, f"property {name!r} is no longer returned")
        for name in sorted(base_props.keys() & rev_props.keys()):
            where = (*path, name)
            was, now = name in base_req, name in rev_req
            if now and not was:
                emit("property-became-required", where, f"property {name!r} is now required")
            elif was and not now:
                emit("property-became-optional", where, f"property {name!r} may now be absent")
            self.compare(
                base_props[name], rev_props[name], (*path, name), base.refs, rev.refs, depth + 1
            )
        old_deps = _dependencies(base.schema.get("dependentRequired"))
        new_deps = _dependencies(rev.schema.get("dependentRequired"))
        for name, dep in sorted(new_deps - old_deps):
            emit("dependent-required-added", path, f"{name!r} now requires {dep!r}")
        for name, dep in sorted(old_deps - new_deps):
            emit(
                "dependent-required-removed",
                path,
                f"{name!r} no longer requires {dep!r}",
            )

    def _objects(self, base: dict[str, Any], rev: dict[str, Any], where: Path) -> None:
        """``additionalProperties: false`` and ``if``/``then``/``else``."""
        if (
            rev.get("additionalProperties") is False
            and base.get("additionalProperties") is not False
        ):
            self.emit("additional-properties-closed", where, "unknown properties are refused")
        elif (
            base.get("additionalProperties") is False
            and rev.get("additionalProperties") is not False
        ):
            self.emit("additional-properties-opened", where, "unknown properties are allowed")
        old = _canonical({k: base[k] for k in ("if", "then", "else") if k in base})
        new = _canonical({k: rev[k] for k in ("if", "then", "else") if k in rev})
        if old != new:
            kind = "added" if old == "{}" else "removed" if new == "{}" else "changed"
            self.emit(f"conditional-{kind}", where, f"if/then/else {kind}")

    def _arrays(self, base: FlatSchema, rev: FlatSchema, path: Path, depth: int) -> None:
        where = path
        if "items" in base.schema and "items" in rev.schema:
            self._child(base, rev, "items", None, path, depth)
        extra_base = base.schema.get("additionalProperties")
        extra_rev = rev.schema.get("additionalProperties")
        if isinstance(extra_base, dict) and isinstance(extra_rev, dict):
            # Map values ({str: int}): every value sits at "any key" of the object.
            self._child(base, rev, "additionalProperties", "*", path, depth)
        old, new = base.schema.get("contains"), rev.schema.get("contains")
        if old != new:
            kind = "added" if old is None else "removed" if new is None else "changed"
            self.emit(f"contains-{kind}", where, f"contains {kind}")
        old_prefix = base.schema.get("prefixItems")
        new_prefix = rev.schema.get("prefixItems")
        old_prefix = old_prefix if isinstance(old_prefix, list) else []
        new_prefix = new_prefix if isinstance(new_prefix, list) else []
        for old_item, new_item in zip(old_prefix, new_prefix, strict=False):
            self.compare(old_item, new_item, (*path, None), base.refs, rev.refs, depth + 1)
        if len(new_prefix) > len(old_prefix):
            self.emit(
                "prefix-items-added", where, f"prefixItems {len(old_prefix)} -> {len(new_prefix)}"
            )
        elif len(old_prefix) > len(new_prefix):
            self.emit(
                "prefix-items-removed", where, f"prefixItems {len(old_prefix)} -> {len(new_prefix)}"
            )

    def _unions(self, base: FlatSchema, rev: FlatSchema, path: Path, depth: int) -> None:
        """Members matched by ``$ref`` or content; leftovers of equal count are compared in order.

        Direction lives in the catalogue: a member added to a request union accepts more (harmless),
        to a response union sends more (breaking); a member removed is the reverse.
        """
        where = path
        for union, kind in (("anyOf", "any-of"), ("oneOf", "one-of")):
            old, new = base.schema.get(union), rev.schema.get(union)
            if not isinstance(old, list) or not isinstance(new, list):
                continue
            old_by_key = {_key(m): m for m in old}
            new_by_key = {_key(m): m for m in new}
            for key in sorted(old_by_key.keys() & new_by_key.keys()):
                # Same $ref on both sides: the referenced schema itself may have changed.
                self.compare(old_by_key[key], new_by_key[key], path, base.refs, rev.refs, depth + 1)
            gone = [m for k, m in old_by_key.items() if k not in new_by_key]
            came = [m for k, m in new_by_key.items() if k not in old_by_key]
            if len(gone) == len(came):
                for old_member, new_member in zip(gone, came, strict=True):
                    self.compare(old_member, new_member, path, base.refs, rev.refs, depth + 1)
                continue
            for member in gone:
                self.emit(
                    f"{kind}-member-removed", where, f"{union} member removed: {show(member)}"
                )
            for member in came:
                self.emit(f"{kind}-member-added", where, f"{union} member added: {show(member)}")


def _pure_ref(node: Any) -> str | None:
    if isinstance(node, dict) and len(node) == 1 and isinstance(node.get("$ref"), str):
        return str(node["$ref"])
    return None


def _unions_on_both_sides(base: dict[str, Any], rev: dict[str, Any]) -> bool:
    """Untyped unions on both sides are compared member by member (see ``_unions``), not by type."""
    if "type" in base or "type" in rev:
        return False
    return any(
        isinstance(base.get(u), list) and isinstance(rev.get(u), list) for u in ("anyOf", "oneOf")
    )


def _dependencies(value: Any) -> set[tuple[str, str]]:
    if not isinstance(value, dict):
        return set()
    return {
        (str(name), str(dep))
        for name, deps in value.items()
        if isinstance(deps, list)
        for dep in deps
    }


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
