"""Comparison rules for ``check`` and ``replay``: what legitimately differs between two backends.

Two calls to two backends never return the same generated ids, timestamps or durations, and the
llmstruct API says so (contracts/API.md: "except for fields that legitimately differ"). Those fields
are ignored by default; an operator adds more with ``--ignore JSONPATH`` or a rules file::

    ignore: ["$..request_id"]          # every operation
    unordered: ["$.tags"]
    headers: ["content-type"]
    operations:                         # per operation, "METHOD /path/template"
      "GET /api/v1/tasks":
        unordered: ["$.items"]

A bad rule stops the command with the offending path named (exit 2).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from contracts.compare import ComparisonRules
from contracts.jsonpath import PathSyntaxError

#: Fields that differ between any two calls of the llmstruct API (ids,
#: timestamps, durations, cache hits).
DEFAULT_IGNORE: tuple[str, ...] = (
    "$.id",
    "$.items[*].id",
    "$..task_id",
    "$..scan_id",
    "$..created_at",
    "$..updated_at",
    "$..started_at",
    "$..finished_at",
    "$..duration_ms",
    "$..files_cached",
)

#: Per-operation additions to the defaults.
DEFAULT_OPERATION_IGNORE: Mapping[str, tuple[str, ...]] = {
    "GET /api/v1/project/info": ("$.last_scan",),
}


class RulesError(ValueError):
    """The rules file or an ``--ignore`` path is unusable; the message names the field."""


@dataclass(frozen=True)
class RuleBook:
    """Global rules plus per-operation rules, merged on lookup."""

    default: ComparisonRules = field(default_factory=ComparisonRules)
    operations: Mapping[str, ComparisonRules] = field(default_factory=dict)

    def for_operation(self, key: str) -> ComparisonRules:
        """The rules for ``"METHOD /path/template"``."""
        specific = self.operations.get(key)
        return self.default.merge(specific) if specific is not None else self.default


def build_rulebook(extra_ignore: Sequence[str] = (), rules_file: str | None = None) -> RuleBook:
    """Defaults, then the rules file, then ``--ignore`` paths."""
    doc: dict[str, Any] = {}
    if rules_file:
        doc = _load(rules_file)
    try:
        headers = tuple(doc.get("headers", ("content-type",)))
        default = ComparisonRules(
            ignore_paths=(*DEFAULT_IGNORE, *_strings(doc, "ignore"), *extra_ignore),
            unordered_paths=_strings(doc, "unordered"),
            headers=headers,
        )
        per_op: dict[str, ComparisonRules] = {
            key: ComparisonRules(ignore_paths=paths, headers=headers)
            for key, paths in DEFAULT_OPERATION_IGNORE.items()
        }
        for key, section in (doc.get("operations") or {}).items():
            if not isinstance(section, dict):
                raise RulesError(f"operations.{key} must be a mapping")
            rules = ComparisonRules(
                ignore_paths=_strings(section, "ignore", f"operations.{key}."),
                unordered_paths=_strings(section, "unordered", f"operations.{key}."),
                headers=headers,
            )
            per_op[key] = per_op[key].merge(rules) if key in per_op else rules
    except PathSyntaxError as exc:
        raise RulesError(str(exc)) from exc
    return RuleBook(default=default, operations=per_op)


def _load(path: str) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RulesError(f"cannot read rules file {path}: {exc}") from exc
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise RulesError(f"rules file {path} must hold a mapping")
    unknown = set(doc) - {"ignore", "unordered", "headers", "operations"}
    if unknown:
        raise RulesError(f"rules file {path}: unknown field(s) {sorted(unknown)}")
    return doc


def _strings(doc: Mapping[str, Any], key: str, prefix: str = "") -> tuple[str, ...]:
    value = doc.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RulesError(f"{prefix}{key} must be a list of JSON paths")
    return tuple(value)
