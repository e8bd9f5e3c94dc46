"""Operation classification: contract and route patterns, the fallback
name, the cardinality bound."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

import pytest

import migration.operations
from gateway.config import ConfigError, OperationPattern, parse_config
from migration.operations import (
    OTHER,
    OperationClassifier,
    OperationTable,
    RouteOperations,
    build_classifier,
    op_key,
    split_key,
)


def classifier(
    routes: str = "[{name: default, paths: ['/*']}]", contract: str | None = None
) -> OperationClassifier:
    """A classifier for the routes of a config snippet."""
    return build_classifier(parse_config(f"routes: {routes}").routes, contract)


@pytest.fixture(scope="module")
def llmstruct() -> OperationClassifier:
    """The embedded contract over one catch-all route (built once: it reads the document)."""
    return classifier(contract="llmstruct")


def test_public_names() -> None:
    """The module's public names are pinned."""
    assert sorted(migration.operations.__all__) == sorted(
        [
            "DEFAULT_MAX_OPERATIONS",
            "OTHER",
            "OperationClassifier",
            "OperationTable",
            "RouteOperations",
            "build_classifier",
            "contract_table",
            "op_key",
            "split_key",
        ]
    )


@pytest.mark.parametrize(
    ("route", "operation"),
    [("default", "get_task"), ("api.v1", "GET /api/v1/tasks"), ("r", "a/b c"), ("r", OTHER)],
)
def test_op_key_round_trips(route: str, operation: str) -> None:
    """``split_key`` undoes ``op_key``: the first '/' separates; the operation keeps the rest."""
    assert split_key(op_key(route, operation)) == (route, operation)


def test_split_key_of_a_plain_route() -> None:
    """A key without '/' is a route with no operation."""
    assert split_key("default") == ("default", None)


@pytest.mark.parametrize(
    ("method", "target", "expected"),
    [
        ("GET", "/api/v1/tasks", "list_tasks"),  # static
        ("POST", "/api/v1/tasks", "create_task"),  # static, another method
        ("GET", "/api/v1/tasks?limit=5&tag=a/b", "list_tasks"),  # the query is not the path
        ("GET", "/api/v1/tasks/abc123", "get_task"),  # templated
        ("DELETE", "/api/v1/tasks/7?force=1", "delete_task"),
        ("PATCH", "/api/v1/tasks/7", "update_task"),
        ("GET", "/api/v1/project/context/FULL", "get_context"),
        ("GET", "/api/v1/system/health", "health"),
        ("GET", "/api/v1/tasks/", "GET default"),  # a parameter is one non-empty segment
        ("GET", "/api/v1/tasks/7/extra", "GET default"),  # ... and never two
        ("PUT", "/api/v1/tasks/7", "PUT default"),  # the path is known, the method is not
        ("GET", "/api/v1/ws", "GET default"),  # the WebSocket is not in the OpenAPI document
        ("get", "/api/v1/tasks", "get default"),  # methods are case-sensitive (RFC 9110 §9.1)
    ],
)
def test_llmstruct_contract(
    llmstruct: OperationClassifier, method: str, target: str, expected: str
) -> None:
    """The llmstruct contract names requests by operationId; anything else is METHOD + route."""
    assert llmstruct.classify("default", method, target) == expected


def test_route_patterns_win_over_the_contract() -> None:
    """A route's own patterns (static or templated) go first; the contract answers the rest."""
    ops = classifier(
        "[{name: tasks, paths: ['/api/v1/*'], operations: ["
        "'GET /api/v1/tasks', {name: one task, method: GET, path: '/api/v1/tasks/{id}'},"
        " {name: system, method: GET, path: '/api/v1/system/{part}'}]}]",
        contract="llmstruct",
    )
    assert ops.classify("tasks", "GET", "/api/v1/tasks?limit=1") == "GET /api/v1/tasks"
    assert ops.classify("tasks", "GET", "/api/v1/system/health") == "system"  # over a static path
    assert ops.classify("tasks", "GET", "/api/v1/tasks/9") == "one task"
    assert ops.classify("tasks", "DELETE", "/api/v1/tasks/9") == "delete_task"
    assert ops.classify("tasks", "POST", "/api/v1/other") == "POST tasks"


def test_without_a_contract_or_patterns_every_request_is_method_and_route() -> None:
    """No source knows the request: its name is METHOD + route."""
    ops = classifier("[{name: api, paths: ['/api/*']}, {name: default, paths: ['/*']}]")
    assert ops.classify("api", "POST", "/api/v1/tasks") == "POST api"
    assert ops.classify("default", "GET", "/") == "GET default"


def test_most_specific_template_wins() -> None:
    """Fewer parameters first, then the longer template, whatever the declaration order."""
    table = OperationTable(
        [
            OperationPattern("any pair", "GET", "/files/{a}/{b}"),
            OperationPattern("file", "GET", "/files/{name}"),
            OperationPattern("file json", "GET", "/files/{name}.json"),
            OperationPattern("meta", "GET", "/files/{name}/meta"),
            OperationPattern("index", "GET", "/files/index"),
        ]
    )
    assert table.classify("GET", "/files/index") == "index"  # static beats every template
    assert table.classify("GET", "/files/a.json") == "file json"
    assert table.classify("GET", "/files/a.txt") == "file"
    assert table.classify("GET", "/files/a/meta") == "meta"
    assert table.classify("GET", "/files/a/b") == "any pair"
    assert table.classify("POST", "/files/a") is None


def test_merged_lookup_answers_as_the_layered_tables() -> None:
    """The classifier's merged dicts and blocks give each table's plain regex answer, per layer."""
    route = OperationTable(
        [
            OperationPattern("r-item", "GET", "/a/{id}"),
            OperationPattern("r-static", "GET", "/b/c"),
            OperationPattern("r-json", "GET", "/a/{id}.json"),
            OperationPattern("r-mid", "GET", "/{x}/c"),
        ]
    )
    contract = OperationTable(
        [
            OperationPattern("c-static", "GET", "/a/b"),  # the route's /a/{id} matches it
            OperationPattern("c-item", "GET", "/b/{id}"),
            OperationPattern("c-pair", "GET", "/a/{x}/{y}"),
            OperationPattern("c-root", "GET", "/{any}"),
            OperationPattern("c-tail", "GET", "/a/b/{z}"),
            OperationPattern("c-post", "POST", "/a/{id}"),
        ]
    )
    ops = OperationClassifier({"r": RouteOperations("r", (route, contract), max_operations=256)})
    segments = ["", "a", "b", "c", "x.json", "*"]
    rng = random.Random(5)
    paths = {
        "/".join(("", *combo)) for n in (1, 2, 3) for combo in itertools.product(segments, repeat=n)
    }
    paths |= {"*", "/", "//", "/a//"} | {
        "/" + "/".join(rng.choices(segments, k=4)) for _ in range(50)
    }
    for method, path in itertools.product(("GET", "POST"), sorted(paths)):
        expected = route.classify(method, path) or contract.classify(method, path) or f"{method} r"
        assert ops.classify("r", method, path) == expected, (method, path)


def test_contract_from_a_file(tmp_path: Path) -> None:
    """A contract file path is read as an OpenAPI document (operationId, else METHOD path)."""
    document = {
        "openapi": "3.1.0",
        "paths": {
            "/orders/{id}": {"get": {"operationId": "getOrder", "responses": {}}},
            "/orders": {"post": {"responses": {}}},
        },
    }
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(document))
    ops = classifier(contract=str(path))
    assert ops.classify("default", "GET", "/orders/1") == "getOrder"
    assert ops.classify("default", "POST", "/orders") == "POST /orders"


def test_contract_tables_compile_no_schema_validator(monkeypatch: pytest.MonkeyPatch) -> None:
    """Classifying needs the paths only: no JSON-schema validator is compiled for it."""
    import jsonschema_rs

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a schema validator was compiled")

    monkeypatch.setattr(jsonschema_rs, "validator_for", refuse)
    assert (
        classifier(contract="llmstruct").classify("default", "GET", "/api/v1/tasks") == "list_tasks"
    )


def test_the_bound_sends_new_names_to_other() -> None:
    """Past max_operations, a new name is 'other'; names admitted earlier keep theirs for good."""
    ops = classifier("[{name: default, paths: ['/*'], max_operations: 2}]", contract="llmstruct")
    assert ops.classify("default", "GET", "/api/v1/tasks") == "list_tasks"
    assert ops.classify("default", "GET", "/api/v1/tasks/1") == "get_task"
    assert ops.classify("default", "POST", "/api/v1/tasks") == OTHER
    assert ops.classify("default", "GET", "/api/v1/tasks/2") == "get_task"
    assert ops.classify("default", "POST", "/api/v1/tasks") == OTHER
    assert ops.routes["default"].seen == {"get_task", "list_tasks"}


def test_invented_methods_only_fill_the_bound() -> None:
    """Fallback names carry the client's method: a client inventing methods meets the same bound."""
    ops = OperationClassifier({"default": RouteOperations("default", (), max_operations=3)})
    names = {ops.classify("default", f"M{i:03d}", "/x") for i in range(100)}
    assert names == {"M000 default", "M001 default", "M002 default", OTHER}
    assert ops.classify("default", "M001", "/y") == "M001 default"


def test_a_route_the_classifier_does_not_know_is_other() -> None:
    """Only configured routes have operations; any other route name answers 'other'."""
    assert classifier().classify("nope", "GET", "/") == OTHER


def test_max_operations_must_be_positive() -> None:
    """A route's bound is at least one name."""
    with pytest.raises(ValueError, match="max_operations"):
        RouteOperations("default", (), max_operations=0)


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ("'GET'", "routes.0.operations.1"),
        ("{name: x, method: GET}", "routes.0.operations.1"),
        ("'GET /tasks/{id'", "routes.0.operations.1"),
        ("'GET /tasks'", "routes.0.operations.1"),  # the same pattern as entry 0
    ],
)
def test_bad_operations_stop_start_up_naming_the_entry(entry: str, field: str) -> None:
    """A bad operations entry is a start-up error naming routes.N.operations.M."""
    with pytest.raises(ConfigError, match=rf"{field}: "):
        classifier(f"[{{name: a, paths: ['/*'], operations: ['GET /tasks', {entry}]}}]")


async def test_the_runtime_hands_its_gateway_the_contracts_classifier(tmp_path: Path) -> None:
    """``CutoverRuntime`` builds the classifier from its routes and ``migration.contract``."""
    from prometheus_client import CollectorRegistry

    from gateway.config import build_config
    from migration.runtime import CutoverRuntime

    routes = [{"name": "default", "paths": ["/*"], "operations": ["GET /api/v1/system/health"]}]
    migration = {"state_db": str(tmp_path / "m.db"), "memory_scrape": False}
    config = build_config({"routes": routes, "migration": migration})
    runtime = CutoverRuntime(config, CollectorRegistry())
    try:
        classify = runtime.gateway.classify
        assert classify is not None
        assert classify("default", "GET", "/api/v1/tasks/1") == "get_task"
        assert classify("default", "GET", "/api/v1/system/health") == "GET /api/v1/system/health"
    finally:
        await runtime.stop()
