"""No crash on valid documents: hypothesis builds small valid OpenAPI 3.1 specs and pairs of them.

Base and revision are drawn independently from the same small vocabulary (shared operation paths,
component names, keywords), so a pair differs in arbitrary ways: types, unions, bounds, refs that
become cycles, parameters that move between places. Every pair must diff without an exception, with
every finding on a catalogued rule id at its catalogued level.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.diff import diff_documents
from contracts.diff.rules import RULES

NAMES = ("a", "b", "c")
REFS = tuple(f"#/components/schemas/{n}" for n in ("A", "B"))
TYPES = ("string", "integer", "number", "boolean", "object", "array", "null")

scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.sampled_from(NAMES))


def _keywords(children: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {},
        optional={
            "type": st.one_of(st.sampled_from(TYPES), st.lists(st.sampled_from(TYPES), max_size=3)),
            "nullable": st.booleans(),
            "enum": st.lists(scalars, max_size=3),
            "x-extensible-enum": st.lists(st.sampled_from(NAMES), max_size=3),
            "const": scalars,
            "default": scalars,
            "format": st.sampled_from(("date", "uuid", "email")),
            "pattern": st.sampled_from(("^a", "^b$")),
            "minimum": st.integers(-3, 3),
            "maxLength": st.integers(0, 5),
            "exclusiveMinimum": st.one_of(st.booleans(), st.integers(-3, 3)),
            "minContains": st.integers(0, 3),
            "uniqueItems": st.booleans(),
            "readOnly": st.booleans(),
            "writeOnly": st.booleans(),
            "properties": st.dictionaries(st.sampled_from(NAMES), children, max_size=3),
            "required": st.lists(st.sampled_from(NAMES), max_size=3),
            "additionalProperties": st.one_of(st.booleans(), children),
            "dependentRequired": st.dictionaries(
                st.sampled_from(NAMES), st.lists(st.sampled_from(NAMES), max_size=2), max_size=2
            ),
            "items": children,
            "prefixItems": st.lists(children, max_size=2),
            "contains": children,
            "anyOf": st.lists(children, max_size=3),
            "oneOf": st.lists(children, max_size=3),
            "allOf": st.lists(children, max_size=2),
            "if": children,
            "then": children,
        },
    )


schemas = st.recursive(
    st.one_of(
        st.builds(lambda ref: {"$ref": ref}, st.sampled_from(REFS)),
        st.builds(dict, type=st.sampled_from(TYPES)),
        st.just({}),
        st.booleans(),  # 3.1: `true` admits anything, `false` nothing
    ),
    _keywords,
    max_leaves=8,
)

parameters = st.lists(
    st.fixed_dictionaries(
        {
            "name": st.sampled_from(("q", "X-Q", "id")),
            "in": st.sampled_from(("query", "header", "cookie")),
            "schema": schemas,
        },
        optional={"required": st.booleans()},
    ),
    max_size=2,
)

content = st.dictionaries(
    st.sampled_from(("application/json", "text/plain")),
    st.builds(lambda s: {"schema": s}, schemas),
    max_size=2,
)

responses = st.dictionaries(
    st.sampled_from(("200", "201", "404", "default")),
    st.fixed_dictionaries(
        {"description": st.just("r")},
        optional={
            "content": content,
            "headers": st.dictionaries(
                st.sampled_from(("ETag", "etag", "X-Trace")),
                st.fixed_dictionaries({"schema": schemas}, optional={"required": st.booleans()}),
                max_size=2,
            ),
            "links": st.dictionaries(st.sampled_from(("Self",)), st.just({"operationId": "x"})),
        },
    ),
    min_size=1,
    max_size=3,
)

operation = st.fixed_dictionaries(
    {"responses": responses},
    optional={
        "parameters": parameters,
        "requestBody": st.fixed_dictionaries(
            {"content": content}, optional={"required": st.booleans()}
        ),
        "deprecated": st.booleans(),
        "x-sunset": st.sampled_from(("2020-01-01", "2099-01-01", "not a date")),
        "security": st.lists(st.sampled_from(({}, {"key": []})), max_size=2),
    },
)

path_items = st.dictionaries(
    st.sampled_from(("/t", "/t/{id}", "/t/{other}")),
    st.dictionaries(st.sampled_from(("get", "post", "put")), operation, min_size=1, max_size=2),
    max_size=2,
)

documents = st.fixed_dictionaries(
    {
        "openapi": st.just("3.1.0"),
        "info": st.just({"title": "t", "version": "1"}),
        "paths": path_items,
        "components": st.fixed_dictionaries(
            {"schemas": st.fixed_dictionaries({"A": schemas, "B": schemas})}
        ),
    },
    optional={
        "webhooks": st.dictionaries(
            st.sampled_from(("done",)), st.dictionaries(st.just("post"), operation), max_size=1
        ),
        "security": st.lists(st.sampled_from(({}, {"key": []})), max_size=2),
    },
)


def _with_path_params(doc: dict[str, Any]) -> dict[str, Any]:
    """Declare each path template's parameter, as the meta-schema's users expect."""
    for path, item in doc["paths"].items():
        if "{" in path:
            name = path.split("{")[1].rstrip("}")
            item["parameters"] = [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            ]
    return doc


@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(base=documents, revision=documents, min_days=st.sampled_from((0, 30)))
def test_any_pair_of_valid_documents_diffs_without_error(
    base: dict[str, Any], revision: dict[str, Any], min_days: int
) -> None:
    """Diffing two valid documents never raises, and every finding is catalogued at its level."""
    findings = diff_documents(
        _with_path_params(base), _with_path_params(revision), min_deprecation_days=min_days
    )
    for finding in findings:
        assert finding.severity is RULES[finding.rule].level


@settings(max_examples=100, deadline=None, derandomize=True)
@given(schema=schemas)
def test_a_document_diffed_with_itself_is_quiet(schema: Any) -> None:
    """Comparing a schema with itself reports nothing, however it is written."""
    doc = {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/t": {
                "post": {
                    "requestBody": {"content": {"application/json": {"schema": schema}}},
                    "responses": {
                        "200": {
                            "description": "r",
                            "content": {"application/json": {"schema": schema}},
                        }
                    },
                }
            }
        },
        "components": {"schemas": {"A": schema, "B": {"$ref": "#/components/schemas/A"}}},
    }
    assert diff_documents(doc, doc) == ()


def _schema_slots(node: Any, inside: bool = False) -> list[tuple[Any, Any]]:
    """(container, key) of every schema node: under a ``schema``/``schemas`` key and below."""
    slots: list[tuple[Any, Any]] = []
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else []
    )
    for key, value in items:
        here = inside or key in ("schema", "schemas")
        if isinstance(value, dict) and inside:
            slots.append((node, key))
        if isinstance(value, dict | list):
            slots += _schema_slots(value, here)
    return slots


@settings(max_examples=100, deadline=None, derandomize=True)
@given(base=documents, data=st.data())
def test_a_mutated_document_diffs_without_error(base: dict[str, Any], data: st.DataObject) -> None:
    """A document and a copy with a few schema nodes replaced or edited diff without error."""
    base = _with_path_params(base)
    revision = copy.deepcopy(base)
    slots = _schema_slots(revision)
    for _ in range(data.draw(st.integers(1, 3))):
        if not slots:
            break
        container, key = data.draw(st.sampled_from(slots))
        if data.draw(st.booleans()) or not isinstance(container[key], dict):
            container[key] = data.draw(schemas)
        else:
            container[key] = {**container[key], **data.draw(_keywords(schemas))}
    for finding in diff_documents(base, revision):
        assert finding.severity is RULES[finding.rule].level
