"""Read an OpenAPI 3.x document (JSON or YAML) and refuse anything else with a clear message."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import yaml


class SpecError(Exception):
    """The document cannot be used: unreadable, not JSON/YAML, not OpenAPI 3.x, bad ``$ref``."""


def load_spec(path: str | Path) -> dict[str, Any]:
    """Load and sanity-check the OpenAPI document at ``path``."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read {source}: {exc}") from exc
    return parse_spec(text, name=str(source))


def parse_spec(text: str, name: str = "<document>") -> dict[str, Any]:
    """Parse an OpenAPI document's text and check it (see :func:`check_spec`)."""
    return check_spec(parse_document(text, name), name)


def parse_document(text: str, name: str = "<document>") -> Any:
    """Parse JSON (tried first: it is what ``contracts export`` writes) or YAML text."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        try:
            return jsonable(yaml.safe_load(text))
        except yaml.YAMLError as exc:
            raise SpecError(f"{name} is neither JSON nor YAML: {exc}") from exc


def jsonable(node: Any) -> Any:
    """YAML's extras in JSON terms: ``200:`` is the key ``"200"``, ``2027-01-01`` the string."""
    if isinstance(node, dict):
        return {str(k) if not isinstance(k, str) else k: jsonable(v) for k, v in node.items()}
    if isinstance(node, list):
        return [jsonable(item) for item in node]
    if isinstance(node, date):
        return node.isoformat()
    return node


def check_spec(doc: Any, name: str = "<document>") -> dict[str, Any]:
    """Return ``doc`` when it looks like OpenAPI 3.x, else raise :class:`SpecError`."""
    if not isinstance(doc, dict):
        raise SpecError(f"{name} is not an OpenAPI document (top level is not an object)")
    version = doc.get("openapi")
    if not isinstance(version, str) or not version.startswith("3."):
        found = "no 'openapi' field" if version is None else f"openapi: {version!r}"
        if "swagger" in doc:
            found = f"swagger: {doc['swagger']!r}"
        raise SpecError(f"{name} is not OpenAPI 3.x ({found})")
    paths = doc.get("paths", {})
    if not isinstance(paths, dict):
        raise SpecError(f"{name}: 'paths' must be an object")
    return doc
