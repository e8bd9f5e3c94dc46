"""Breaking-change detection between two OpenAPI documents: a table of mutations with verdicts."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from contracts.diff import SpecError, diff_documents
from contracts.report import Severity

Spec = dict[str, Any]


def base_spec() -> Spec:
    """A small OpenAPI 3.1 document shaped like the llmstruct task API, as FastAPI emits it."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/tasks": {
                "get": {
                    "parameters": [
                        {
                            "name": "status",
                            "in": "query",
                            "required": False,
                            "schema": {
                                "anyOf": [
                                    {"type": "string", "enum": ["open", "done"]},
                                    {"type": "null"},
                                ]
                            },
                        },
                        {
                            "name": "limit",
                            "in": "query",
                            "required": False,
                            "schema": {
                                "type": "integer",
                                "maximum": 200,
                                "minimum": 1,
                                "default": 50,
                            },
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/TaskList"}
                                }
                            },
                        },
                        "422": {
                            "description": "bad",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                    },
                },
                "post": {
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/TaskCreate"}
                            }
                        },
                    },
                    "responses": {
                        "201": {
                            "description": "created",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Task"}
                                }
                            },
                        }
                    },
                },
            },
            "/tasks/{task_id}": {
                "get": {
                    "parameters": [
                        {
                            "name": "task_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Task"}
                                }
                            },
                        },
                        "404": {"description": "nf"},
                    },
                },
                "delete": {
                    "parameters": [
                        {
                            "name": "task_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {"204": {"description": "gone"}},
                },
            },
        },
        "components": {
            "schemas": {
                "TaskCreate": {
                    "type": "object",
                    "required": ["title"],
                    "properties": {
                        "title": {"type": "string", "minLength": 1, "maxLength": 200},
                        "priority": {
                            "type": "string",
                            "enum": ["low", "medium", "high"],
                            "default": "medium",
                        },
                        "tags": {"type": "array", "items": {"type": "string"}},
                        "estimated_effort": {
                            "anyOf": [{"type": "string", "maxLength": 50}, {"type": "null"}]
                        },
                    },
                },
                "Task": {
                    "type": "object",
                    "required": ["id", "title", "priority", "estimated_effort", "tags"],
                    "properties": {
                        "id": {"type": "string"},
                        "title": {"type": "string"},
                        "priority": {"type": "string", "enum": ["low", "medium", "high"]},
                        "tags": {"type": "array", "items": {"type": "string"}},
                        "estimated_effort": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                        "count": {"type": "integer"},
                        "languages": {
                            "type": "object",
                            "additionalProperties": {"type": "integer"},
                        },
                        "value": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                    },
                },
                "TaskList": {
                    "type": "object",
                    "required": ["items", "total"],
                    "properties": {
                        "items": {"type": "array", "items": {"$ref": "#/components/schemas/Task"}},
                        "total": {"type": "integer"},
                    },
                },
            }
        },
    }


S = "components"


def schemas(doc: Spec) -> dict[str, Any]:
    found: dict[str, Any] = doc["components"]["schemas"]
    return found


def ops(doc: Spec) -> dict[str, Any]:
    paths: dict[str, Any] = doc["paths"]
    return paths


def _inline_task_create(d: Spec) -> None:
    body = ops(d)["/tasks"]["post"]["requestBody"]["content"]["application/json"]
    body["schema"] = copy.deepcopy(schemas(d)["TaskCreate"])


def _split_task_into_allof(d: Spec) -> None:
    task = schemas(d)["Task"]
    schemas(d)["TaskBase"] = {
        "type": "object",
        "required": ["id"],
        "properties": {"id": task["properties"].pop("id")},
    }
    task["required"].remove("id")
    schemas(d)["Task"] = {"allOf": [{"$ref": "#/components/schemas/TaskBase"}, task]}


def _make_recursive(d: Spec) -> None:
    schemas(d)["Task"]["properties"]["children"] = {
        "type": "array",
        "items": {"$ref": "#/components/schemas/Task"},
    }


def _rename_path_param(d: Spec) -> None:
    item = ops(d).pop("/tasks/{task_id}")
    for op in item.values():
        op["parameters"][0]["name"] = "id"
    ops(d)["/tasks/{id}"] = item


def _swagger_style_nullable(d: Spec) -> None:
    schemas(d)["Task"]["properties"]["estimated_effort"] = {"type": "string", "nullable": True}


def _type_list_nullable(d: Spec) -> None:
    schemas(d)["Task"]["properties"]["estimated_effort"] = {"type": ["string", "null"]}


Mutation = Callable[[Spec], object]  # edits the spec in place; what it returns is ignored

#: (id, mutation, expected rule ids at ERR, expected rules below ERR (subset check)).
CASES: list[tuple[str, Mutation, set[str], set[str]]] = [
    ("no-change", lambda d: None, set(), set()),
    (
        "operation-removed",
        lambda d: ops(d)["/tasks/{task_id}"].pop("delete"),
        {"operation-removed"},
        set(),
    ),
    ("path-removed", lambda d: ops(d).pop("/tasks/{task_id}"), {"operation-removed"}, set()),
    (
        "operation-added",
        lambda d: ops(d)["/tasks/{task_id}"].update(
            patch={"responses": {"200": {"description": "ok"}}}
        ),
        set(),
        {"operation-added"},
    ),
    ("path-param-renamed", _rename_path_param, set(), set()),
    (
        "new-required-query-param",
        lambda d: ops(d)["/tasks"]["get"]["parameters"].append(
            {"name": "q", "in": "query", "required": True, "schema": {"type": "string"}}
        ),
        {"request-parameter-query-required-added"},
        set(),
    ),
    (
        "new-optional-query-param",
        lambda d: ops(d)["/tasks"]["get"]["parameters"].append(
            {"name": "q", "in": "query", "schema": {"type": "string"}}
        ),
        set(),
        {"request-parameter-query-added"},
    ),
    (
        "param-became-required",
        lambda d: ops(d)["/tasks"]["get"]["parameters"][1].update(required=True),
        {"request-parameter-query-became-required"},
        set(),
    ),
    (
        "param-removed",
        lambda d: ops(d)["/tasks"]["get"]["parameters"].pop(1),
        set(),
        {"request-parameter-query-removed"},
    ),
    (
        "param-maximum-lowered",
        lambda d: ops(d)["/tasks"]["get"]["parameters"][1]["schema"].update(maximum=100),
        {"request-parameter-query-maximum-decreased"},
        set(),
    ),
    (
        "param-maximum-raised",
        lambda d: ops(d)["/tasks"]["get"]["parameters"][1]["schema"].update(maximum=500),
        set(),
        {"request-parameter-query-maximum-increased"},
    ),
    (
        "param-type-changed",
        lambda d: ops(d)["/tasks"]["get"]["parameters"][1].update(schema={"type": "string"}),
        {"request-parameter-query-type-changed"},
        set(),
    ),
    (
        "param-integer-to-number-widens",
        lambda d: ops(d)["/tasks"]["get"]["parameters"][1]["schema"].update(type="number"),
        set(),
        {"request-parameter-query-type-widened"},
    ),
    (
        "request-enum-value-removed",
        lambda d: ops(d)["/tasks"]["get"]["parameters"][0]["schema"]["anyOf"][0]["enum"].remove(
            "done"
        ),
        {"request-parameter-query-enum-value-removed"},
        set(),
    ),
    (
        "request-enum-value-added",
        lambda d: schemas(d)["TaskCreate"]["properties"]["priority"]["enum"].append("urgent"),
        set(),
        {"request-body-enum-value-added"},
    ),
    (
        "new-required-request-property",
        lambda d: (
            schemas(d)["TaskCreate"]["properties"].update(owner={"type": "string"}),
            schemas(d)["TaskCreate"]["required"].append("owner"),
        ),
        {"request-body-required-property-added"},
        set(),
    ),
    (
        "new-optional-request-property",
        lambda d: schemas(d)["TaskCreate"]["properties"].update(owner={"type": "string"}),
        set(),
        {"request-body-property-added"},
    ),
    (
        "request-property-became-required",
        lambda d: schemas(d)["TaskCreate"]["required"].append("tags"),
        {"request-body-property-became-required"},
        set(),
    ),
    (
        "request-property-type-changed",
        lambda d: schemas(d)["TaskCreate"]["properties"]["tags"].update(type="string"),
        {"request-body-type-changed"},
        set(),
    ),
    (
        "request-array-item-type-changed",
        lambda d: schemas(d)["TaskCreate"]["properties"]["tags"]["items"].update(type="integer"),
        {"request-body-type-changed"},
        set(),
    ),
    (
        "request-maxlength-decreased",
        lambda d: schemas(d)["TaskCreate"]["properties"]["title"].update(maxLength=100),
        {"request-body-max-length-decreased"},
        set(),
    ),
    (
        "request-minlength-added",
        lambda d: schemas(d)["TaskCreate"]["properties"]["tags"]["items"].update(minLength=3),
        {"request-body-min-length-increased"},
        set(),
    ),
    (
        "request-nullable-removed",
        lambda d: schemas(d)["TaskCreate"]["properties"].update(
            estimated_effort={"type": "string", "maxLength": 50}
        ),
        {"request-body-nullable-removed"},
        set(),
    ),
    (
        "request-body-became-optional",
        lambda d: ops(d)["/tasks"]["post"]["requestBody"].update(required=False),
        set(),
        {"request-body-became-optional"},
    ),
    (
        "request-media-type-removed",
        lambda d: ops(d)["/tasks"]["post"]["requestBody"].update(
            content={"application/xml": {"schema": {}}}
        ),
        {"request-body-media-type-removed"},
        {"request-body-media-type-added"},
    ),
    (
        "response-property-removed",
        lambda d: schemas(d)["Task"]["properties"].pop("title"),
        {"response-body-required-property-removed"},
        set(),
    ),
    (
        "response-property-added",
        lambda d: schemas(d)["Task"]["properties"].update(owner={"type": "string"}),
        set(),
        {"response-body-property-added"},
    ),
    (
        "response-property-became-optional",
        lambda d: schemas(d)["Task"]["required"].remove("title"),
        {"response-body-property-became-optional"},
        set(),
    ),
    (
        "response-property-type-changed",
        lambda d: schemas(d)["Task"]["properties"]["id"].update(type="integer"),
        {"response-body-type-changed"},
        set(),
    ),
    (
        "response-integer-to-number",
        lambda d: schemas(d)["Task"]["properties"]["count"].update(type="number"),
        {"response-body-type-widened"},
        set(),
    ),
    (
        "response-type-changed-deep-in-list",
        lambda d: schemas(d)["TaskList"]["properties"]["total"].update(type="string"),
        {"response-body-type-changed"},
        set(),
    ),
    (
        "response-enum-value-added",
        lambda d: schemas(d)["Task"]["properties"]["priority"]["enum"].append("urgent"),
        set(),
        {"response-body-enum-value-added"},
    ),
    (
        "response-enum-value-removed",
        lambda d: schemas(d)["Task"]["properties"]["priority"]["enum"].remove("high"),
        set(),
        {"response-body-enum-value-removed"},
    ),
    (
        "response-nullable-added",
        lambda d: schemas(d)["Task"]["properties"].update(
            id={"anyOf": [{"type": "string"}, {"type": "null"}]}
        ),
        {"response-body-nullable-added"},
        set(),
    ),
    (
        "response-nullable-removed",
        lambda d: schemas(d)["Task"]["properties"].update(estimated_effort={"type": "string"}),
        set(),
        {"response-body-nullable-removed"},
    ),
    (
        "response-error-status-removed",
        lambda d: ops(d)["/tasks/{task_id}"]["get"]["responses"].pop("404"),
        set(),
        {"response-non-success-status-removed"},
    ),
    (
        "response-success-status-removed",
        lambda d: ops(d)["/tasks/{task_id}"]["get"]["responses"].pop("200"),
        {"response-success-status-removed"},
        set(),
    ),
    (
        "response-status-added",
        lambda d: ops(d)["/tasks/{task_id}"]["get"]["responses"].update(
            {"410": {"description": "gone"}}
        ),
        set(),
        {"response-non-success-status-added"},
    ),
    (
        "response-media-type-removed",
        lambda d: ops(d)["/tasks"]["post"]["responses"]["201"].update(
            content={"text/plain": {"schema": {"type": "string"}}}
        ),
        {"response-media-type-removed"},
        {"response-media-type-added"},
    ),
    ("ref-inlined-is-not-a-change", _inline_task_create, set(), set()),
    ("allof-split-is-not-a-change", _split_task_into_allof, set(), set()),
    ("recursive-ref-terminates", _make_recursive, set(), {"response-body-property-added"}),
    ("openapi30-nullable-equivalent", _swagger_style_nullable, set(), set()),
    ("type-list-nullable-equivalent", _type_list_nullable, set(), set()),
    (
        "response-map-value-type-changed",
        lambda d: schemas(d)["Task"]["properties"]["languages"]["additionalProperties"].update(
            type="string"
        ),
        {"response-body-type-changed"},
        set(),
    ),
    (
        "response-union-member-type-changed",
        lambda d: schemas(d)["Task"]["properties"]["value"]["anyOf"][1].update(type="number"),
        {"response-body-type-widened"},
        set(),
    ),
    (
        "response-union-alternative-added",
        lambda d: schemas(d)["Task"]["properties"]["value"]["anyOf"].append({"type": "boolean"}),
        {"response-body-any-of-member-added"},
        set(),
    ),
    ("security-added", lambda d: d.update(security=[{"key": []}]), set(), {"security-added"}),
]


@pytest.mark.parametrize(("name", "mutate", "errors", "minor"), CASES, ids=[c[0] for c in CASES])
def test_mutation_verdicts(name: str, mutate: Mutation, errors: set[str], minor: set[str]) -> None:
    """Each mutation of the base spec yields exactly the expected breaking rules."""
    base = base_spec()
    revision = base_spec()
    mutate(revision)
    findings = diff_documents(base, revision)
    assert {f.rule for f in findings if f.severity is Severity.ERR} == errors, findings
    assert minor <= {f.rule for f in findings if f.severity < Severity.ERR}, findings


def test_table_has_at_least_25_pairs() -> None:
    """The verdict table stays broad."""
    assert len(CASES) >= 25


def test_reverse_of_required_request_property_is_harmless() -> None:
    """Direction matters: dropping a required request property is not an ERR, adding one is."""
    with_owner = base_spec()
    schemas(with_owner)["TaskCreate"]["properties"]["owner"] = {"type": "string"}
    schemas(with_owner)["TaskCreate"]["required"].append("owner")
    forward = diff_documents(base_spec(), with_owner)
    backward = diff_documents(with_owner, base_spec())
    assert any(f.severity is Severity.ERR for f in forward)
    assert not any(f.severity is Severity.ERR for f in backward)


def test_findings_name_operation_and_json_path() -> None:
    """A nested response change is reported on the operation that returns it, at its JSON path."""
    revision = base_spec()
    schemas(revision)["Task"]["properties"]["id"]["type"] = "integer"
    findings = [f for f in diff_documents(base_spec(), revision) if f.subject == "GET /tasks"]
    assert [f.location for f in findings] == ["response 200 $.items[*].id"]


def test_body_required_flip_is_reported() -> None:
    """An optional request body that becomes required is breaking."""
    base = base_spec()
    ops(base)["/tasks"]["post"]["requestBody"]["required"] = False
    rules = {f.rule for f in diff_documents(base, base_spec())}
    assert "request-body-became-required" in rules


def test_not_openapi3_is_a_spec_error() -> None:
    """Swagger 2 documents are refused with a message naming the version."""
    with pytest.raises(SpecError, match="swagger"):
        diff_documents({"swagger": "2.0", "paths": {}}, base_spec())


def test_unresolvable_ref_is_a_spec_error() -> None:
    """A dangling $ref is reported as unusable input, not as a crash."""
    revision = base_spec()
    del schemas(revision)["Task"]
    with pytest.raises(SpecError, match="unresolvable"):
        diff_documents(base_spec(), revision)


def write_pair(tmp_path: Path, revision: Spec, *, yaml_revision: bool = False) -> tuple[str, str]:
    """Write base (JSON) and revision (JSON or YAML) to files."""
    base_file = tmp_path / "base.json"
    base_file.write_text(json.dumps(base_spec()))
    rev_file = tmp_path / ("rev.yaml" if yaml_revision else "rev.json")
    rev_file.write_text(yaml.safe_dump(revision) if yaml_revision else json.dumps(revision))
    return str(base_file), str(rev_file)
