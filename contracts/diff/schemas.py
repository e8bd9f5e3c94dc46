"""Direction-aware comparison of two JSON Schemas (request side or response side).

A request schema describes what the server *accepts*: the revision must accept everything the base
accepted, so narrowing is breaking and widening is harmless. A response schema describes what
clients *receive*: the revision must not send anything the base never sent, so widening is what
breaks (a new enum value, a property that may now be missing or null, a looser type). The walk here
reports *kinds* of change; :mod:`contracts.diff.rules` holds the verdict of each kind on each side.

Two keywords change what is compared rather than how: a ``readOnly`` property is never sent in a
request (so adding a required one breaks no client) and a ``writeOnly`` property is never returned
(so removing one breaks no reader); each side drops the properties it never sees.
"""

from __future__ import annotations

from collections import deque
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
from contracts.diff.shapes import (
    admitted_types,
    canonical,
    dependencies,
    member_key,
    pure_ref,
    untyped_unions,
)
from contracts.jsonpath import format_path

_MAX_DEPTH = 64
Path = Where
#: Report one change to the caller: kind, JSON path (``$.items[*].id``), message.
Emit = Callable[[str, str, str], None]
Change = tuple[str, Path, str]


RefPair = tuple[str, str]


@dataclass(frozen=True)
class _Node:
    """What one schema pair holds up to the next pair of ``$ref``: its own changes, and the ref
    pairs below it (where they sit), walked as nodes of their own."""

    changes: tuple[Change, ...]
    edges: tuple[tuple[Path, RefPair], ...]


@dataclass(frozen=True)
class SchemaPair:
    """The two documents' resolvers, so each side's ``$ref`` is looked up in its own document.

    ``nodes`` holds each pair of ``$ref`` already compared, per direction, for the whole diff.
    """

    base: Resolver
    revision: Resolver
    nodes: dict[tuple[str, RefPair], _Node] = field(default_factory=dict, compare=False)

    def node(self, direction: Direction, refs: RefPair) -> _Node:
        """The comparison of ``refs`` (built on first use)."""
        key = (direction, refs)
        if key not in self.nodes:
            self.nodes[key] = _Walk(self, direction).build({"$ref": refs[0]}, {"$ref": refs[1]})
        return self.nodes[key]


def compare_schemas(
    pair: SchemaPair, base: Any, revision: Any, direction: Direction, emit: Emit
) -> None:
    """Compare two schema nodes, reporting kinds of change through ``emit``.

    The schemas form a graph whose nodes are pairs of ``$ref`` (see :class:`_Walk`); it is walked
    breadth first and each pair once, so a change in a shared component is reported once per
    operation, at the shortest path to it, and a recursive or densely cross-referenced model costs
    the size of the model, not the number of paths through it.
    """
    seen: set[RefPair] = set()
    refs = pure_ref(base), pure_ref(revision)
    if refs[0] is not None and refs[1] is not None:
        seen.add((refs[0], refs[1]))
        root = pair.node(direction, (refs[0], refs[1]))
    else:
        root = _Walk(pair, direction).build(base, revision)
    queue: deque[tuple[Path, _Node]] = deque([((), root)])
    while queue:
        prefix, node = queue.popleft()
        for kind, path, message in node.changes:
            emit(kind, format_path((*prefix, *path)), message)
        for path, refs in node.edges:
            if refs not in seen:
                seen.add(refs)
                queue.append(((*prefix, *path), pair.node(direction, refs)))


@dataclass
class _Walk:
    """Builds one :class:`_Node`: walks a schema pair, stopping at each pair of ``$ref`` below it.

    A large API refers to the same components from hundreds of operations, and models refer to each
    other (an order's customer, the customer's orders): walking every path would repeat the same
    comparison per path, exponentially so in a cross-referenced model. Stopping at ref pairs makes
    each component pair compared once per direction for the whole diff, whatever the way in.
    """

    pair: SchemaPair
    direction: Direction
    changes: list[Change] = field(default_factory=list)
    edges: list[tuple[Path, RefPair]] = field(default_factory=list)

    def build(self, base: Any, revision: Any) -> _Node:
        """Walk the pair from its root."""
        self._compare(base, revision, (), frozenset(), frozenset(), 0)
        return _Node(tuple(self.changes), tuple(self.edges))

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
        base_ref, rev_ref = pure_ref(base_node), pure_ref(rev_node)
        if base_ref is not None and rev_ref is not None:
            self.edges.append((path, (base_ref, rev_ref)))
        else:
            self._compare(base_node, rev_node, path, base_trail, rev_trail, depth)

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
        base_types = admitted_types(self.pair.base, base.schema, base.refs)
        rev_types = admitted_types(self.pair.revision, rev.schema, rev.refs)
        if base_types != rev_types and not untyped_unions(base.schema, rev.schema):
            before, after = show(base.schema.get("type")), show(rev.schema.get("type"))
            shown = f"type changed from {before} to {after}"
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
        """Members added to or dropped from ``allOf`` (merging hides keywords it cannot merge).

        Members match by ``$ref`` or content; when as many are unmatched on each side they were
        edited (or a ref inlined), which the merged comparison already judges, so only a change in
        the number of members is reported here.
        """
        base_raw, _ = self.pair.base.deref(base_node, base_trail)
        rev_raw, _ = self.pair.revision.deref(rev_node, rev_trail)
        if not isinstance(base_raw, dict) or not isinstance(rev_raw, dict):
            return
        old, new = base_raw.get("allOf"), rev_raw.get("allOf")
        if not isinstance(old, list) or not isinstance(new, list) or len(old) == len(new):
            return
        old_keys, new_keys = [member_key(m) for m in old], [member_key(m) for m in new]
        gone = [k for k in old_keys if k not in new_keys]
        came = [k for k in new_keys if k not in old_keys]
        if len(came) > len(gone):
            for key in came[len(gone) :]:
                self.emit("all-of-member-added", where, f"allOf member added: {show(key)}")
        else:
            for key in gone[len(came) :]:
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
        old_deps = dependencies(base.schema.get("dependentRequired"))
        new_deps = dependencies(rev.schema.get("dependentRequired"))
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
        old = canonical({k: base[k] for k in ("if", "then", "else") if k in base})
        new = canonical({k: rev[k] for k in ("if", "then", "else") if k in rev})
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
            old_by_key = {member_key(m): m for m in old}
            new_by_key = {member_key(m): m for m in new}
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
