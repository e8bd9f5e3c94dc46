"""Self-contained schemas per (operation, status) and the compiled ContractValidator."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from contracts.export import load_openapi
from contracts.schemas import (
    DIALECT,
    check_schemas,
    operations,
    resolve_pointer,
    response_schemas,
    self_contained,
)
from contracts.validators import (
    CONTENT_TYPE,
    NO_BODY,
    SCHEMA,
    UNDOCUMENTED_STATUS,
    ContractValidator,
    compile_template,
    json_path,
)

TASK: dict[str, Any] = {
    "id": "3f2b9c0a4d6e4b1f8a7c5e2d1b0a9f8e",
    "title": "Document the scan endpoint",
    "description": "Explain include and exclude patterns.",
    "status": "open",
    "priority": "high",
    "tags": ["docs", "api"],
    "estimated_effort": "2h",
    "created_at": "2026-11-25T12:00:00.123456Z",
    "updated_at": "2026-11-25T12:00:00Z",
}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return load_openapi()


@pytest.fixture(scope="module")
def validator(document: dict[str, Any]) -> ContractValidator:
    return ContractValidator.from_document(document)


def contains_ref(node: Any) -> bool:
    if isinstance(node, dict):
        return "$ref" in node or any(contains_ref(value) for value in node.values())
    if isinstance(node, list):
        return any(contains_ref(item) for item in node)
    return False


def test_every_derived_schema_is_valid_2020_12(document: dict[str, Any]) -> None:
    """Each request and response schema passes jsonschema's check_schema."""
    assert check_schemas(document) > 20


def test_schemas_are_self_contained(document: dict[str, Any]) -> None:
    """No $ref is left once the API's schemas are inlined, and each carries the dialect."""
    for response in response_schemas(document).values():
        if response.schema is not None:
            assert response.schema["$schema"] == DIALECT
            assert not contains_ref(response.schema), (response.operation, response.status)


def test_recursive_reference_goes_to_defs() -> None:
    """A schema that refers to itself keeps one $ref, into its own $defs."""
    document = {
        "components": {
            "schemas": {
                "Node": {
                    "type": "object",
                    "properties": {
                        "children": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Node"},
                        }
                    },
                }
            }
        }
    }
    schema = self_contained({"$ref": "#/components/schemas/Node"}, document)
    assert schema["$defs"]["Node"]["properties"]["children"]["items"] == {"$ref": "#/$defs/Node"}
    checker = jsonschema.Draft202012Validator(schema)
    assert checker.is_valid({"children": [{"children": []}]})
    assert not checker.is_valid({"children": [{"children": 3}]})


def test_unresolvable_ref_names_it() -> None:
    """A dangling $ref is a ValueError naming the pointer."""
    with pytest.raises(ValueError, match="#/components/schemas/Gone"):
        resolve_pointer({}, "#/components/schemas/Gone")


def test_examples_match_their_schemas(document: dict[str, Any]) -> None:
    """Every documented example (models and error responses) validates against its own schema."""
    checked = 0
    for name, schema in document["components"]["schemas"].items():
        contained = self_contained(schema, document)
        for example in schema.get("examples", []):
            jsonschema.Draft202012Validator(
                contained, format_checker=jsonschema.FormatChecker()
            ).validate(example)
            checked += 1
        assert name
    for op in operations(document).values():
        spec = document["paths"][op.path][op.method.lower()]
        for status, response in spec["responses"].items():
            example = response.get("content", {}).get("application/json", {}).get("example")
            if example is not None:
                schema = op.responses[status].schema
                assert schema is not None
                jsonschema.Draft202012Validator(schema).validate(example)
                checked += 1
    assert checked > 20


@pytest.mark.parametrize(
    ("method", "path", "operation"),
    [
        ("GET", "/api/v1/system/health", "health"),
        ("get", "/api/v1/tasks", "list_tasks"),
        ("POST", "/api/v1/tasks", "create_task"),
        ("PATCH", "/api/v1/tasks/abc", "update_task"),
        ("DELETE", "/api/v1/tasks/abc", "delete_task"),
        ("GET", "/api/v1/project/context/FULL", "get_context"),
        ("GET", "/api/v1/tasks/a/b", None),
        ("PUT", "/api/v1/tasks", None),
        ("GET", "/api/v1/tasks/", None),
        ("GET", "/metrics", None),
    ],
)
def test_operation_for_maps_paths_to_operations(
    validator: ContractValidator, method: str, path: str, operation: str | None
) -> None:
    """Static paths and {param} templates resolve to their operation ids; others to None."""
    assert validator.operation_for(method, path) == operation


def test_static_path_beats_template() -> None:
    """/tasks/search (static) wins over /tasks/{id} regardless of declaration order."""
    responses = {"200": {"description": "ok"}}
    document = {
        "paths": {
            "/tasks/{id}": {"get": {"operationId": "one", "responses": responses}},
            "/tasks/search": {"get": {"operationId": "search", "responses": responses}},
            "/tasks/{id}/{sub}": {"get": {"responses": responses}},
        }
    }
    validator = ContractValidator.from_document(document)
    assert validator.operation_for("GET", "/tasks/search") == "search"
    assert validator.operation_for("GET", "/tasks/7") == "one"
    assert validator.operation_for("GET", "/tasks/7/x") == "GET /tasks/{id}/{sub}"


def test_valid_response_has_no_violations(validator: ContractValidator) -> None:
    """A TaskResponse as the app emits it is valid for get_task 200."""
    assert validator.validate("get_task", 200, TASK) == []


def test_schema_violations_carry_json_paths(validator: ContractValidator) -> None:
    """A bad id and a non-string tag are two schema violations at $.id and $.tags[1]."""
    violations = validator.validate("get_task", 200, {**TASK, "id": "XYZ", "tags": ["a", 1]})
    assert [(v.kind, v.path) for v in violations] == [(SCHEMA, "$.id"), (SCHEMA, "$.tags[1]")]


def test_extra_and_missing_fields_break_the_contract(validator: ContractValidator) -> None:
    """Responses are closed: an added field and a dropped one are both violations."""
    extra = validator.validate("get_task", 200, {**TASK, "owner": "me"})
    missing = validator.validate("get_task", 200, {k: v for k, v in TASK.items() if k != "title"})
    assert [v.kind for v in extra] == [SCHEMA]
    assert [v.kind for v in missing] == [SCHEMA]


def test_bad_datetime_format_is_a_violation(validator: ContractValidator) -> None:
    """Formats are checked: a created_at that is not date-time fails at its path."""
    violations = validator.validate("get_task", 200, {**TASK, "created_at": "yesterday"})
    assert [(v.kind, v.path) for v in violations] == [(SCHEMA, "$.created_at")]


def test_undocumented_status_is_a_violation(validator: ContractValidator) -> None:
    """get_task does not document 500, nor health 401."""
    assert [v.kind for v in validator.validate("get_task", 500, {"detail": "x"})] == [
        UNDOCUMENTED_STATUS
    ]
    assert not validator.documents("health", 401)
    assert validator.documents("get_task", 404)


def test_wrong_content_type_is_a_violation(validator: ContractValidator) -> None:
    """text/plain where JSON is documented is a content_type violation; charset is ignored."""
    assert [v.kind for v in validator.validate("get_task", 200, TASK, "text/plain")] == [
        CONTENT_TYPE
    ]
    assert validator.validate("get_task", 200, TASK, "application/json; charset=utf-8") == []


def test_204_must_have_no_body(validator: ContractValidator) -> None:
    """delete_task 204 is valid with no body, a violation with one."""
    assert validator.validate("delete_task", 204, NO_BODY, None) == []
    assert [v.kind for v in validator.validate("delete_task", 204, {"x": 1})] == [CONTENT_TYPE]


def test_error_bodies_are_checked(validator: ContractValidator) -> None:
    """401 must be {"detail": str}; FastAPI's 422 list shape is accepted."""
    assert validator.validate("status", 401, {"detail": "Missing API key"}) == []
    assert [v.kind for v in validator.validate("status", 401, {"detail": 5})] == [SCHEMA]
    validation = {
        "detail": [
            {"type": "missing", "loc": ["body", "title"], "msg": "Field required", "input": {}}
        ]
    }
    assert validator.validate("create_task", 422, validation) == []


def test_validate_raw_decodes_json(validator: ContractValidator) -> None:
    """Raw bytes are decoded for JSON types; invalid JSON and empty bodies are reported."""
    assert (
        validator.validate_raw(
            "health", 200, "application/json", b'{"status":"ok","version":"0.1.0"}'
        )
        == []
    )
    assert [v.kind for v in validator.validate_raw("health", 200, "application/json", b"{x")] == [
        SCHEMA
    ]
    assert [v.kind for v in validator.validate_raw("health", 200, "application/json", b"")] == [
        SCHEMA
    ]
    assert validator.validate_raw("delete_task", 204, None, b"") == []


def test_unknown_operation_raises(validator: ContractValidator) -> None:
    """validate refuses an operation the document does not define."""
    with pytest.raises(KeyError, match="nope"):
        validator.validate("nope", 200, {})


def test_json_path_and_templates() -> None:
    """Paths render as $.a[0]['b c']; templates match exactly one segment per parameter."""
    assert json_path(["items", 0, "b c"]) == "$.items[0]['b c']"
    assert json_path([]) == "$"
    regex = compile_template("/a/{x}.json")
    assert regex.fullmatch("/a/1.json")
    assert not regex.fullmatch("/a/1/2.json")
    assert not regex.fullmatch("/a/1xjson")


def test_checked_in_contract_loads(validator: ContractValidator) -> None:
    """from_path compiles the checked-in document with all ten operations."""
    assert ContractValidator.from_path().operation_ids == validator.operation_ids
    assert len(validator.operation_ids) == 10
