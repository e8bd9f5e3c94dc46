"""The hand-rolled validator against pydantic itself: same issues, same order, same messages."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from custom_backend import schemas
from custom_backend.integers import IntTooLong, parse_int
from custom_backend.validation import (
    ChoiceField,
    IntParam,
    ModelSpec,
    RequestInvalid,
    expected_choices,
)
from fastapi_backend import models


def pydantic_issues(
    model: type[BaseModel], data: Any, *, from_attributes: bool = True
) -> list[dict[str, Any]]:
    """FastAPI's ``detail`` for a body validated against ``model`` (loc prefixed by "body")."""
    try:
        TypeAdapter(model).validate_python(data, from_attributes=from_attributes)
    except ValidationError as exc:
        issues = []
        for error in exc.errors(include_url=False):
            issue = {
                "type": error["type"],
                "loc": ["body", *error["loc"]],
                "msg": error["msg"],
                "input": error["input"],
            }
            if "ctx" in error:
                issue["ctx"] = error["ctx"]
            issues.append(issue)
        return issues
    return []


def our_issues(spec: ModelSpec, data: Any, **kwargs: Any) -> list[dict[str, Any]]:
    """The issues ``spec`` reports (empty when valid)."""
    try:
        spec.validate(data, **kwargs)
    except RequestInvalid as exc:
        return exc.issues
    return []


BODIES: list[Any] = [
    {},
    {"title": "ok"},
    {"title": ""},
    {"title": "x" * 200},
    {"title": "x" * 201},
    {"title": "é" * 201},
    {"title": 1},
    {"title": 1.5},
    {"title": True},
    {"title": None},
    {"title": []},
    {"title": {}},
    {"title": "t", "description": None},
    {"title": "t", "description": "d" * 5001},
    {"title": "t", "priority": "urgent"},
    {"title": "t", "priority": "URGENT"},
    {"title": "t", "priority": None},
    {"title": "t", "priority": 3},
    {"title": "t", "status": "done"},
    {"title": "t", "status": "finished"},
    {"title": "t", "status": None},
    {"title": "t", "tags": "a"},
    {"title": "t", "tags": None},
    {"title": "t", "tags": {"a": 1}},
    {"title": "t", "tags": ["a", 1, None, ["b"], {"c": 2}]},
    {"title": "t", "estimated_effort": None},
    {"title": "t", "estimated_effort": 5},
    {"title": "t", "estimated_effort": "e" * 51},
    {"title": "", "priority": "x", "tags": [1], "estimated_effort": 5, "description": 7},
    {"paths": "x"},
    {"paths": ["a", 2], "include_patterns": None, "exclude_patterns": [None]},
    # lone surrogates: string_unicode on a str field, accepted in a list[str]
    # (pydantic-core's reading)
    {"title": "\ud800", "description": "ok\udfff", "estimated_effort": "\udc80"},
    {"title": "t", "tags": ["\ud800"], "status": "\ud800"},
    {"paths": ["\ud800"], "include_patterns": ["\udc80"]},
    [],
    [1, 2],
    "text",
    12,
    None,
    True,
]


@pytest.mark.parametrize("body", BODIES, ids=[repr(body)[:40] for body in BODIES])
@pytest.mark.parametrize(
    ("model", "spec", "exclude_unset"),
    [
        (models.TaskCreateRequest, schemas.TASK_CREATE, False),
        (models.TaskUpdateRequest, schemas.TASK_UPDATE, True),
        (models.ScanRequest, schemas.SCAN_REQUEST, False),
    ],
    ids=["create", "update", "scan"],
)
def test_body_issues_match_pydantic(
    model: type[BaseModel], spec: ModelSpec, exclude_unset: bool, body: Any
) -> None:
    """Every body gets exactly the issues pydantic (as FastAPI calls it) reports."""
    assert our_issues(spec, body, exclude_unset=exclude_unset) == pydantic_issues(model, body)


@pytest.mark.parametrize("body", [[], "x", 3, None])
def test_model_type_without_from_attributes(body: Any) -> None:
    """``from_attributes=False`` (plain ``model_validate``) reports ``model_type`` like pydantic."""
    ours = our_issues(schemas.SCAN_REQUEST, body, from_attributes=False)
    assert ours == pydantic_issues(models.ScanRequest, body, from_attributes=False)


def test_defaults_and_unset() -> None:
    """Defaults fill absent fields; ``exclude_unset`` keeps what was sent (``model_dump``)."""
    full = schemas.TASK_CREATE.validate({"title": "t"})
    assert full == models.TaskCreateRequest(title="t").model_dump()
    partial = schemas.TASK_UPDATE.validate({"estimated_effort": None}, exclude_unset=True)
    assert partial == {"estimated_effort": None}
    assert schemas.SCAN_REQUEST.validate({}) == models.ScanRequest().model_dump()


# A table of spellings, kept dense (fmt: skip): one a line would be 38 lines of noise.
INT_STRINGS = [
    "0", "1", "-1", "+5", " 5", "5 ", "\t5\n", "5\xa0", "\u20035", "1_0", "1__0", "_1", "1_", "1.0",
    "1.000", "1.", "1.5", "1.01", ".5", "1e2", "0x10", "0b1", "", " ", "abc", "-0", "00012",
    "１", "٣", "9" * 30, "9" * 30 + ".0", "1_000.0", "1.0_0", "- 5", "+-5", "NaN", "inf", "\x1c5",
]  # fmt: skip
# Around Python's int_max_str_digits (4300), where pydantic-core's answers depend on the spelling.
LONG_INT_STRINGS = {
    "4300-digits": "9" * 4300,
    "4301-digits": "9" * 4301,
    "negative-4301": "-" + "9" * 4301,
    "plus-4300": "+" + "9" * 4300,
    "plus-4301": "+" + "9" * 4301,
    "zeros-then-4300": "0" * 10 + "9" * 4300,
    "zeros-then-4301": "000" + "9" * 4301,
    "5000-zeros-then-1": "0" * 5000 + "1",
    "plus-5000-zeros": "+" + "0" * 5000,
    "underscores-2201": "9_" * 2200 + "9",
    "underscore-4301": "9" * 4300 + "_9",
    "4301-dot-zero": "9" * 4301 + ".0",
    "spaces-4300": " " + "9" * 4300 + " ",
}


@pytest.mark.parametrize("text", list(LONG_INT_STRINGS.values()), ids=list(LONG_INT_STRINGS))
def test_long_integers_match_pydantic(text: str) -> None:
    """Past 4300 digits: pydantic's value, ``int_parsing`` (None) or ``int_parsing_size``."""
    try:
        expected: object = TypeAdapter(int).validate_python(text)
    except ValidationError as exc:
        expected = exc.errors()[0]["type"]
    try:
        parsed = parse_int(text)
    except IntTooLong:
        parsed = "int_parsing_size"  # type: ignore[assignment]
    assert ("int_parsing" if parsed is None else parsed) == expected


@pytest.mark.parametrize("text", INT_STRINGS, ids=[repr(s) for s in INT_STRINGS])
def test_parse_int_matches_pydantic(text: str) -> None:
    """pydantic's lax str → int, reproduced: same accepted strings, same values."""
    try:
        expected: int | None = TypeAdapter(int).validate_python(text)
    except ValidationError:
        expected = None
    assert parse_int(text) == expected


class _Query(BaseModel):
    limit: int = Field(default=50, ge=1, le=200)


@pytest.mark.parametrize(
    "raw", ["0", "-3", "201", "x", "", "7", "99999999999999999999", "9" * 4301, "+" + "9" * 4301]
)
def test_int_param_matches_pydantic(raw: str) -> None:
    """A query integer's bounds and parse errors match pydantic's, ``loc`` ``["query", name]``."""
    issues: list[dict[str, Any]] = []
    value = IntParam("limit", default=50, ge=1, le=200).check(raw, issues)
    try:
        parsed = _Query.model_validate({"limit": raw})
        assert issues == []
        assert value == parsed.limit
    except ValidationError as exc:
        expected = [
            {"type": e["type"], "loc": ["query", *e["loc"]], "msg": e["msg"], "input": e["input"]}
            | ({"ctx": e["ctx"]} if "ctx" in e else {})
            for e in exc.errors(include_url=False)
        ]
        assert issues == expected


def test_enum_and_literal_kinds() -> None:
    """A path enum fails as ``enum``, a literal as ``literal_error``; both list the choices."""
    issues: list[dict[str, Any]] = []
    ChoiceField("mode", ("A", "B"), kind="enum").check("c", ("path", "mode"), issues)
    ChoiceField("p", ("x",), kind="literal_error").check(1, ("query", "p"), issues)
    assert issues == [
        {
            "type": "enum",
            "loc": ["path", "mode"],
            "msg": "Input should be 'A' or 'B'",
            "input": "c",
            "ctx": {"expected": "'A' or 'B'"},
        },
        {
            "type": "literal_error",
            "loc": ["query", "p"],
            "msg": "Input should be 'x'",
            "input": 1,
            "ctx": {"expected": "'x'"},
        },
    ]


def test_expected_choices_wording() -> None:
    """pydantic's list wording: commas, then "or" before the last."""
    assert expected_choices(("a",)) == "'a'"
    assert expected_choices(("a", "b", "c")) == "'a', 'b' or 'c'"


def test_schemas_mirror_the_baseline_models() -> None:
    """The specs declare the baseline models' fields, in the same order."""
    assert [f.name for f in schemas.TASK_CREATE.fields] == list(
        models.TaskCreateRequest.model_fields
    )
    assert [f.name for f in schemas.TASK_UPDATE.fields] == list(
        models.TaskUpdateRequest.model_fields
    )
    assert [f.name for f in schemas.SCAN_REQUEST.fields] == list(models.ScanRequest.model_fields)
    assert tuple(mode.value for mode in models.ContextMode) == schemas.CONTEXT_MODES
