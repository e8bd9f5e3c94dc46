"""Compiled response validators: is this (operation, status, body) what the contract documents?

The gateway validates live responses and the contract checker validates recorded ones, both on hot
paths, so everything is prepared once in ``ContractValidator.from_document``: one ``jsonschema_rs``
validator per (operation, status), compiled from the self-contained schemas of
``contracts.schemas``, and a path table that maps a concrete request path to its operation (static
paths by dict lookup, templates such as ``/api/v1/tasks/{task_id}`` by one regex each). ``validate``
answers a valid body with one ``is_valid`` call and only walks the errors when there are some.

Violation kinds: ``undocumented_status`` (the operation does not document that status, nor its
``4XX`` range, nor ``default``), ``content_type`` (a media type, or a body, the response does not
document) and ``schema`` (the JSON body breaks the schema; ``path`` says where, as
``$.items[0].id``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import jsonschema_rs

from contracts.schemas import operations

UNDOCUMENTED_STATUS: Final = "undocumented_status"
CONTENT_TYPE: Final = "content_type"
SCHEMA: Final = "schema"
MAX_SCHEMA_VIOLATIONS = 10


class _NoBody:
    """The marker for "the response had no body" (``None`` would be JSON ``null``)."""

    def __repr__(self) -> str:
        return "NO_BODY"


NO_BODY: Final = _NoBody()
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PARAMETER = re.compile(r"\{[^/{}]+\}")


@dataclass(frozen=True)
class Violation:
    """One way a response breaks the contract."""

    kind: str
    operation: str
    status: int
    message: str
    path: str = "$"


@dataclass(frozen=True)
class _Expected:
    """What one documented (operation, status) allows."""

    media_types: frozenset[str]
    validator: (
        Any | None
    )  # a compiled jsonschema_rs validator, or None when there is no JSON schema


def json_path(parts: Sequence[str | int]) -> str:
    """``["items", 0, "id"]`` → ``$.items[0].id`` (keys that are not identifiers as ``['a b']``)."""
    text = "$"
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _IDENTIFIER.match(part):
            text += f".{part}"
        else:
            text += "[" + json.dumps(part).replace('"', "'") + "]"
    return text


def media_type(content_type: str) -> str:
    """``application/json; charset=utf-8`` → ``application/json``."""
    return content_type.split(";", 1)[0].strip().lower()


def compile_template(template: str) -> re.Pattern[str]:
    """A path template as a full-match regex; each ``{param}`` matches one non-empty segment."""
    pattern, position = "", 0
    for match in _PARAMETER.finditer(template):
        pattern += re.escape(template[position : match.start()]) + "[^/]+"
        position = match.end()
    return re.compile(pattern + re.escape(template[position:]))


class ContractValidator:
    """Validators for each documented response of one OpenAPI document; immutable once built."""

    def __init__(
        self,
        expected: Mapping[str, Mapping[str, _Expected]],
        static: Mapping[tuple[str, str], str],
        templates: Mapping[str, Sequence[tuple[re.Pattern[str], str]]],
    ) -> None:
        self._expected = expected
        self._static = static
        self._templates = templates

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> ContractValidator:
        """Compile every (operation, status) of ``document`` once."""
        expected: dict[str, dict[str, _Expected]] = {}
        static: dict[tuple[str, str], str] = {}
        templated: dict[str, list[tuple[int, int, re.Pattern[str], str]]] = {}
        for op in operations(document).values():
            expected[op.operation_id] = {
                status: _Expected(
                    frozenset(media_type(media) for media in response.content_types),
                    None
                    if response.schema is None
                    else jsonschema_rs.validator_for(response.schema, validate_formats=True),
                )
                for status, response in op.responses.items()
            }
            parameters = len(_PARAMETER.findall(op.path))
            if parameters == 0:
                static[(op.method, op.path)] = op.operation_id
            else:
                # Fewer parameters first, then longer templates: the most specific template wins.
                entry = (parameters, -len(op.path), compile_template(op.path), op.operation_id)
                templated.setdefault(op.method, []).append(entry)
        templates = {
            method: [(regex, op_id) for _, _, regex, op_id in sorted(entries, key=lambda e: e[:2])]
            for method, entries in templated.items()
        }
        return cls(expected, static, templates)

    @classmethod
    def from_path(cls, path: Path | None = None) -> ContractValidator:
        """Compile the checked-in ``contracts/openapi.json`` (or another document file)."""
        from contracts.export import OPENAPI_PATH

        document = json.loads((path or OPENAPI_PATH).read_text(encoding="utf-8"))
        return cls.from_document(document)

    @property
    def operation_ids(self) -> frozenset[str]:
        """Every operation the document defines."""
        return frozenset(self._expected)

    def operation_for(self, method: str, path: str) -> str | None:
        """The operation serving ``METHOD path`` (no query string), or ``None`` when none does."""
        method = method.upper()
        found = self._static.get((method, path))
        if found is not None:
            return found
        for regex, op_id in self._templates.get(method, ()):
            if regex.fullmatch(path):
                return op_id
        return None

    def documents(self, operation: str, status: int) -> bool:
        """Whether ``operation`` documents ``status`` (exactly, as ``NXX`` or ``default``)."""
        return self._lookup(operation, status) is not None

    def _lookup(self, operation: str, status: int) -> _Expected | None:
        try:
            by_status = self._expected[operation]
        except KeyError:
            raise KeyError(f"unknown operation {operation!r}") from None
        return (
            by_status.get(str(status))
            or by_status.get(f"{status // 100}XX")
            or by_status.get("default")
        )

    def validate(
        self,
        operation: str,
        status: int,
        body: Any = NO_BODY,
        content_type: str | None = "application/json",
    ) -> list[Violation]:
        """Violations of one response; ``body`` is the decoded JSON, or ``NO_BODY``.

        Raises ``KeyError`` for an operation the document does not define (use
        ``operation_for`` first).
        """
        expected = self._lookup(operation, status)
        if expected is None:
            message = f"status {status} is not documented for {operation}"
            return [Violation(UNDOCUMENTED_STATUS, operation, status, message)]
        if not expected.media_types:
            if body is NO_BODY:
                return []
            return [Violation(CONTENT_TYPE, operation, status, "a body where none is documented")]
        media = media_type(content_type) if content_type else None
        if media not in expected.media_types:
            documented = ", ".join(sorted(expected.media_types))
            message = f"content type {content_type!r}, documented: {documented}"
            return [Violation(CONTENT_TYPE, operation, status, message)]
        validator = expected.validator
        if validator is None:
            return []
        if body is NO_BODY:
            return [Violation(SCHEMA, operation, status, "no body where one is documented")]
        if validator.is_valid(body):
            return []
        violations = []
        for error in validator.iter_errors(body):
            violations.append(
                Violation(SCHEMA, operation, status, error.message, json_path(error.instance_path))
            )
            if len(violations) >= MAX_SCHEMA_VIOLATIONS:
                break
        return violations

    def validate_raw(
        self, operation: str, status: int, content_type: str | None, raw: bytes
    ) -> list[Violation]:
        """``validate`` for raw bytes: empty is ``NO_BODY``; a JSON type is decoded first."""
        if not raw:
            return self.validate(operation, status, NO_BODY, content_type)
        body: Any = raw
        if content_type and media_type(content_type).endswith("json"):
            try:
                body = json.loads(raw)
            except ValueError as exc:
                expected = self._lookup(operation, status)
                if expected is None or not expected.media_types:
                    return self.validate(operation, status, raw, content_type)
                return [Violation(SCHEMA, operation, status, f"body is not valid JSON: {exc}")]
        return self.validate(operation, status, body, content_type)
