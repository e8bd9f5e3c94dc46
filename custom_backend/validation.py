"""A hand-rolled request validator that speaks pydantic v2 + FastAPI's 422 dialect.

The candidate must answer a bad request with exactly the error list the baseline (FastAPI)
sends, yet it may not import pydantic. The field kinds the llmstruct API uses are few (strings
with length bounds, lists of strings, string enums, bounded integers parsed from query
strings), so each is reproduced here message for message: ``type``, ``loc``, ``msg``, ``input``
and ``ctx`` as pydantic-core emits them, without the ``url`` key, in the order pydantic
validates (fields in declaration order, list items in order). ``tests/custom_backend`` checks
this module against pydantic itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from custom_backend.integers import IntTooLong, parse_int

Loc = tuple[str | int, ...]
Issue = dict[str, Any]


class RequestInvalid(Exception):
    """The request failed validation; ``issues`` is the 422 ``detail`` list."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__(f"{len(issues)} validation error(s)")
        self.issues = issues


def expected_choices(choices: Sequence[str]) -> str:
    """pydantic's ``expected`` text: ``'a', 'b' or 'c'``."""
    quoted = [f"'{choice}'" for choice in choices]
    if len(quoted) == 1:
        return quoted[0]
    return ", ".join(quoted[:-1]) + " or " + quoted[-1]


def missing(loc: Loc, container: Any) -> Issue:
    """A required field is absent; pydantic reports the whole container as the input."""
    return {"type": "missing", "loc": list(loc), "msg": "Field required", "input": container}


def string_type(loc: Loc, value: Any) -> Issue:
    """The value is not a string."""
    return {
        "type": "string_type",
        "loc": list(loc),
        "msg": "Input should be a valid string",
        "input": value,
    }


def _is_unicode(value: str) -> bool:
    """pydantic-core reads ``str`` as Rust UTF-8: a lone surrogate fails as ``string_unicode``.

    (Items of a ``list[str]`` are not checked that way by pydantic; the
    engine refuses them instead.)
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def string_unicode(loc: Loc, value: str) -> Issue:
    """The value is a ``str`` holding a lone surrogate (not UTF-8 encodable)."""
    return {
        "type": "string_unicode",
        "loc": list(loc),
        "msg": "Input should be a valid string, unable to parse raw data as a unicode string",
        "input": value,
    }


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


@dataclass(frozen=True, slots=True)
class StrField:
    """A ``str`` field with optional length bounds; ``nullable`` is ``str | None``."""

    name: str
    required: bool = False
    default: Any = None
    min_length: int | None = None
    max_length: int | None = None
    nullable: bool = False

    def check(self, value: Any, loc: Loc, issues: list[Issue]) -> Any:
        """Validate ``value``; append issues and return the value (unchanged: str is kept as is)."""
        if value is None and self.nullable:
            return None
        if type(value) is not str:
            issues.append(string_type(loc, value))
            return value
        if not _is_unicode(value):
            issues.append(string_unicode(loc, value))
            return value
        if self.min_length is not None and len(value) < self.min_length:
            issues.append(
                {
                    "type": "string_too_short",
                    "loc": list(loc),
                    "msg": f"String should have at least {_plural(self.min_length, 'character')}",
                    "input": value,
                    "ctx": {"min_length": self.min_length},
                }
            )
        elif self.max_length is not None and len(value) > self.max_length:
            issues.append(
                {
                    "type": "string_too_long",
                    "loc": list(loc),
                    "msg": f"String should have at most {_plural(self.max_length, 'character')}",
                    "input": value,
                    "ctx": {"max_length": self.max_length},
                }
            )
        return value


@dataclass(frozen=True, slots=True)
class StrListField:
    """A ``list[str]`` field."""

    name: str
    required: bool = False
    default: tuple[str, ...] = ()
    nullable: bool = False

    def check(self, value: Any, loc: Loc, issues: list[Issue]) -> Any:
        """Validate a JSON list of strings; every bad item is its own issue, located by index."""
        if value is None and self.nullable:
            return None
        if type(value) is not list:
            issues.append(
                {
                    "type": "list_type",
                    "loc": list(loc),
                    "msg": "Input should be a valid list",
                    "input": value,
                }
            )
            return value
        for index, item in enumerate(value):
            if type(item) is not str:
                issues.append(string_type((*loc, index), item))
        return value


@dataclass(frozen=True, slots=True)
class ChoiceField:
    """A string ``Enum`` (``kind="enum"``) or ``Literal`` (``kind="literal_error"``) field."""

    name: str
    choices: tuple[str, ...]
    required: bool = False
    default: Any = None
    kind: str = "enum"
    nullable: bool = False

    def check(self, value: Any, loc: Loc, issues: list[Issue]) -> Any:
        """Accept one of ``choices`` (case-sensitive), else pydantic's enum/literal issue."""
        if value is None and self.nullable:
            return None
        if type(value) is str and value in self.choices:
            return value
        if type(value) is str and not _is_unicode(value):
            issues.append(string_unicode(loc, value))
            return value
        expected = expected_choices(self.choices)
        issues.append(
            {
                "type": self.kind,
                "loc": list(loc),
                "msg": f"Input should be {expected}",
                "input": value,
                "ctx": {"expected": expected},
            }
        )
        return value


Field = StrField | StrListField | ChoiceField


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """A request body model: fields in declaration order (the order pydantic reports in)."""

    name: str
    fields: tuple[Field, ...]

    def validate(
        self,
        data: Any,
        loc: Loc = ("body",),
        *,
        exclude_unset: bool = False,
        from_attributes: bool = True,
    ) -> dict[str, Any]:
        """The validated fields (defaults filled unless ``exclude_unset``), or ``RequestInvalid``.

        FastAPI validates bodies with ``from_attributes=True`` (a non-object is
        ``model_attributes_type``); a plain ``Model.model_validate`` (the WebSocket)
        reports ``model_type`` instead.
        """
        if not isinstance(data, dict):
            if from_attributes:
                raise RequestInvalid([model_attributes_type(loc, data)])
            raise RequestInvalid(
                [
                    {
                        "type": "model_type",
                        "loc": list(loc),
                        "msg": f"Input should be a valid dictionary or instance of {self.name}",
                        "input": data,
                        "ctx": {"class_name": self.name},
                    }
                ]
            )
        issues: list[Issue] = []
        result: dict[str, Any] = {}
        for field in self.fields:
            if field.name in data:
                result[field.name] = field.check(data[field.name], (*loc, field.name), issues)
            elif field.required:
                issues.append(missing((*loc, field.name), data))
            elif not exclude_unset:
                default = field.default
                result[field.name] = list(default) if isinstance(default, tuple) else default
        if issues:
            raise RequestInvalid(issues)
        return result


def model_attributes_type(loc: Loc, value: Any) -> Issue:
    """The body is not an object (FastAPI validates with ``from_attributes=True``)."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    return {
        "type": "model_attributes_type",
        "loc": list(loc),
        "msg": "Input should be a valid dictionary or object to extract fields from",
        "input": value,
    }


@dataclass(frozen=True, slots=True)
class IntParam:
    """An ``int`` query parameter with ``ge``/``le`` bounds and a default."""

    name: str
    default: int
    ge: int | None = None
    le: int | None = None

    def check(self, raw: str | None, issues: list[Issue], source: str = "query") -> int:
        """Parse and bound-check ``raw`` (None = absent = default)."""
        if raw is None:
            return self.default
        loc = [source, self.name]
        try:
            value = parse_int(raw)
        except IntTooLong:
            issues.append(
                {
                    "type": "int_parsing_size",
                    "loc": loc,
                    "msg": "Unable to parse input string as an integer, exceeded maximum size",
                    "input": raw,
                }
            )
            return self.default
        if value is None:
            issues.append(
                {
                    "type": "int_parsing",
                    "loc": loc,
                    "msg": "Input should be a valid integer, unable to parse string as an integer",
                    "input": raw,
                }
            )
            return self.default
        if self.ge is not None and value < self.ge:
            issues.append(
                {
                    "type": "greater_than_equal",
                    "loc": loc,
                    "msg": f"Input should be greater than or equal to {self.ge}",
                    "input": raw,
                    "ctx": {"ge": self.ge},
                }
            )
        elif self.le is not None and value > self.le:
            issues.append(
                {
                    "type": "less_than_equal",
                    "loc": loc,
                    "msg": f"Input should be less than or equal to {self.le}",
                    "input": raw,
                    "ctx": {"le": self.le},
                }
            )
        return value


def check_choice(
    field: ChoiceField, raw: str | None, source: str, issues: list[Issue]
) -> str | None:
    """Validate an optional enum query or path parameter."""
    if raw is None:
        return None
    return str(field.check(raw, (source, field.name), issues))


def query_last(params: Mapping[str, list[str]], name: str) -> str | None:
    """Starlette's ``QueryParams.get``: the last value given for ``name``."""
    values = params.get(name)
    return values[-1] if values else None
