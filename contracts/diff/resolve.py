"""Resolve ``$ref`` and ``allOf`` lazily, one schema node at a time, with cycle protection.

The diff walks both documents side by side and asks for the *flat* form of each node as it goes:
references are followed, ``allOf`` members merged, and the nullable forms of OpenAPI 3.0
(``nullable: true``) and 3.1 (``type: [..., "null"]``, ``anyOf: [X, {"type": "null"}]``, which
FastAPI emits for optional fields) are folded into one flag. Moving a schema into ``components``
therefore changes nothing the diff can see. Expansion is lazy because eager expansion of a recursive
schema never ends; the refs followed on the way down are returned so the caller can stop at a cycle.

OpenAPI 3.0's boolean ``exclusiveMinimum: true`` (beside ``minimum``) is rewritten to 3.1's numeric
form so a document moved from 3.0 to 3.1 compares equal to itself.

``$ref`` may point into another file (``common.yaml#/components/schemas/Id``), resolved from the
referring document's directory as the specification says (relative URI references). An external file
is read once; its own refs are rewritten to absolute ``/dir/file.yaml#/pointer`` form on load, so a
``#/...`` inside it means that file, and cycle detection sees one name per target.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contracts.diff.load import SpecError, parse_document

_MIN_WINS = ("maxLength", "maxItems", "maxProperties", "maximum", "exclusiveMaximum")
_MAX_WINS = ("minLength", "minItems", "minProperties", "minimum", "exclusiveMinimum")


@dataclass(frozen=True)
class FlatSchema:
    """A schema node with refs followed, ``allOf`` merged and nullability split out."""

    schema: dict[str, Any]
    nullable: bool
    refs: frozenset[str]


class Resolver:
    """Looks up references in one document and the files it refers to (relative to ``base_dir``)."""

    def __init__(
        self, doc: dict[str, Any], base_dir: str | Path | None = None, name: str = "<document>"
    ) -> None:
        self.doc = doc
        self.base_dir = Path(base_dir) if base_dir is not None else None
        self.name = name
        self._files: dict[str, Any] = {}

    def lookup(self, ref: str) -> Any:
        """The node a JSON pointer refers to, in this document or another file."""
        target, _, pointer = ref.partition("#")
        node: Any = self.doc if not target else self._external(target, ref)
        where = target or self.name
        for raw in pointer.split("/")[1:]:
            part = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise SpecError(f"{where}: unresolvable $ref {ref!r} (no {raw!r} at #{pointer})")
        return node

    def _external(self, target: str, ref: str) -> Any:
        if "://" in target:
            raise SpecError(f"{self.name}: remote $ref {ref!r} is not fetched (download it first)")
        path = Path(target)
        if not path.is_absolute():
            if self.base_dir is None:
                raise SpecError(
                    f"{self.name}: $ref {ref!r} points to another file; give the document's path"
                )
            path = self.base_dir / path
        key = str(path.resolve())
        if key not in self._files:
            try:
                text = Path(key).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise SpecError(f"{self.name}: cannot read $ref target {target!r}: {exc}") from exc
            self._files[key] = _absolute_refs(parse_document(text, key), Path(key))
        return self._files[key]

    def deref(self, node: Any, trail: frozenset[str] = frozenset()) -> tuple[Any, frozenset[str]]:
        """Follow a chain of ``$ref`` (siblings override the target); stop at a ref in ``trail``."""
        refs = set(trail)
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if ref in refs:
                return {"$cycle": ref}, frozenset(refs)
            refs.add(ref)
            target = self.lookup(ref)
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            node = {**target, **siblings} if isinstance(target, dict) and siblings else target
        return node, frozenset(refs)

    def flatten(self, node: Any, trail: frozenset[str] = frozenset()) -> FlatSchema:
        """The flat form of a schema node (see the module docstring)."""
        schema, refs = self.deref(node, trail)
        if not isinstance(schema, dict):
            return FlatSchema({}, False, refs)
        if "allOf" in schema and isinstance(schema["allOf"], list):
            merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
            for member in schema["allOf"]:
                part = self.flatten(member, refs)
                refs = refs | part.refs
                merged = merge_schemas(merged, part.schema)
            schema = merged
        return _split_nullable(self, schema, refs)


def _absolute_refs(node: Any, source: Path) -> Any:
    """A copy of an external file's content with every ``$ref`` made absolute (see module doc)."""
    if isinstance(node, list):
        return [_absolute_refs(item, source) for item in node]
    if not isinstance(node, dict):
        return node
    copied = {k: _absolute_refs(v, source) for k, v in node.items()}
    ref = copied.get("$ref")
    if isinstance(ref, str) and "://" not in ref:
        target, _, pointer = ref.partition("#")
        file = source if not target else (source.parent / target).resolve()
        copied["$ref"] = f"{file}#{pointer}"
    return copied


def _exclusive_bounds(schema: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI 3.0 ``exclusiveMinimum: true`` + ``minimum: 5`` is 3.1's ``exclusiveMinimum: 5``."""
    for exclusive, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        flag = schema.get(exclusive)
        if isinstance(flag, bool):
            schema = dict(schema)
            del schema[exclusive]
            if flag and bound in schema:
                schema[exclusive] = schema.pop(bound)
    return schema


def _split_nullable(resolver: Resolver, schema: dict[str, Any], refs: frozenset[str]) -> FlatSchema:
    nullable = bool(schema.get("nullable", False))
    schema = _exclusive_bounds({k: v for k, v in schema.items() if k != "nullable"})
    kind = schema.get("type")
    if isinstance(kind, list) and "null" in kind:
        nullable = True
        rest = [t for t in kind if t != "null"]
        schema["type"] = rest[0] if len(rest) == 1 else rest
        if not rest:
            del schema["type"]
    if kind == "null":
        return FlatSchema({}, True, refs)
    for union in ("anyOf", "oneOf"):
        members = schema.get(union)
        if not isinstance(members, list):
            continue
        others = []
        for member in members:
            resolved, _ = resolver.deref(member, refs)
            if isinstance(resolved, dict) and resolved.get("type") == "null" and len(resolved) <= 2:
                nullable = True
            else:
                others.append(member)
        if len(others) == len(members):
            continue
        rest_schema = {k: v for k, v in schema.items() if k != union}
        if len(others) == 1:
            inner = resolver.flatten(others[0], refs)
            # Keywords beside the union (title, default, description) describe the same value.
            combined = {
                **inner.schema,
                **{k: v for k, v in rest_schema.items() if k not in inner.schema},
            }
            return FlatSchema(combined, True, refs | inner.refs)
        rest_schema[union] = others
        schema = rest_schema
    return FlatSchema(schema, nullable, refs)


def merge_schemas(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Merge two ``allOf`` members: properties and required united, tighter constraints kept."""
    merged = dict(a)
    for key, value in b.items():
        if key not in merged:
            merged[key] = value
        elif key == "properties" and isinstance(value, dict):
            props = dict(merged[key])
            for name, sub in value.items():
                props[name] = {"allOf": [props[name], sub]} if name in props else sub
            merged[key] = props
        elif key == "required" and isinstance(value, list):
            merged[key] = list(dict.fromkeys([*merged[key], *value]))
        elif key in _MIN_WINS and isinstance(value, int | float):
            merged[key] = min(merged[key], value)
        elif key in _MAX_WINS and isinstance(value, int | float):
            merged[key] = max(merged[key], value)
        elif key == "enum" and isinstance(value, list):
            merged[key] = [v for v in merged[key] if v in value]
    return merged
