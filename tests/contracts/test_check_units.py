"""The pure parts of `contracts check`: cases, chains, rules, judging; and its usage errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from contracts.check.cases import (
    Case,
    auth_cases,
    cases_for,
    generate_values,
    query_pairs,
    request_schema,
)
from contracts.check.config import DEFAULT_IGNORE, RulesError, build_rulebook
from contracts.check.evaluate import Observed, evaluate
from contracts.check.operations import Operation, load_operations
from contracts.check.runner import find_chains
from contracts.compare import ComparisonRules
from contracts.report import Severity
from migration.cli.main import main
from tests.contracts.test_diff import base_spec

JSON = (("content-type", "application/json"),)


def operation(method: str = "GET", path: str = "/tasks") -> Operation:
    return Operation(method, path, "op", (), None, False, ())


def observed(body: Any, status: int = 200) -> Observed:
    return Observed(status, JSON, json.dumps(body).encode())


def test_operations_are_read_with_refs_inlined() -> None:
    """Request body schemas come out self-contained, with examples collected."""
    doc = base_spec()
    doc["components"]["schemas"]["TaskCreate"]["examples"] = [{"title": "from the contract"}]
    ops = {op.key: op for op in load_operations(doc)}
    create = ops["POST /tasks"]
    assert create.body_required
    assert create.body_schema is not None
    assert "$ref" not in json.dumps(create.body_schema)
    assert create.body_examples == ({"title": "from the contract"},)
    assert ops["GET /tasks/{task_id}"].responses == {"200": ("application/json",), "404": ()}


def test_generated_requests_are_valid_for_their_schemas() -> None:
    """Every generated request instance validates against the operation's request schema."""
    for op in load_operations(base_spec()):
        schema = request_schema(op)
        for value in generate_values(schema, 8, seed=1):
            jsonschema.validate(value, schema)


def test_generation_is_reproducible_for_a_seed() -> None:
    """The same seed yields the same cases; path strings stay URL-safe."""
    op = {o.key: o for o in load_operations(base_spec())}["GET /tasks/{task_id}"]
    first = [c.url_path() for c in cases_for(op, 5, seed=3)]
    assert first == [c.url_path() for c in cases_for(op, 5, seed=3)]
    assert all(p.startswith("/tasks/") and "%" not in p for p in first)


def test_examples_come_first() -> None:
    """Documented body examples become the first cases, generated ones follow."""
    doc = base_spec()
    doc["components"]["schemas"]["TaskCreate"]["examples"] = [{"title": "a"}, {"title": "b"}]
    op = {o.key: o for o in load_operations(doc)}["POST /tasks"]
    cases = cases_for(op, 2, seed=0)
    assert [c.label for c in cases] == ["example 1", "example 2", "generated 1", "generated 2"]
    assert [c.body for c in cases[:2]] == [{"title": "a"}, {"title": "b"}]


def test_query_encoding_and_path_quoting() -> None:
    """Lists repeat the key, None is left out, booleans lower-case; path values percent-encoded."""
    assert query_pairs({"a": [1, "x"], "b": None, "c": True}) == (
        ("a", "1"),
        ("a", "x"),
        ("c", "true"),
    )
    case = Case(operation("GET", "/tasks/{task_id}"), "x", {"task_id": "a/b c"})
    assert case.url_path() == "/tasks/a%2Fb%20c"
    assert case.url_path({"task_id": "abc"}) == "/tasks/abc"


def test_chains_pair_create_with_item_operations() -> None:
    """POST /tasks chains with the operations on /tasks/{task_id}."""
    chains = find_chains(load_operations(base_spec()))
    assert len(chains) == 1
    assert chains[0].create.key == "POST /tasks"
    assert set(chains[0].items) == {"GET", "DELETE"}
    assert chains[0].param == "task_id"


def test_default_rules_ignore_ids_and_timestamps() -> None:
    """Generated ids, timestamps and durations are ignored; other fields are not."""
    rules = build_rulebook().for_operation("GET /api/v1/tasks")
    a = {"items": [{"id": "1", "created_at": "t1", "title": "x"}], "total": 1}
    b = {"items": [{"id": "2", "created_at": "t2", "title": "x"}], "total": 1}
    case = Case(operation(), "g")
    assert evaluate(case, observed(a), observed(b), rules, [], []) == []
    b["total"] = 2
    assert [f.location for f in evaluate(case, observed(a), observed(b), rules, [], [])] == [
        "$.total"
    ]
    assert "$..created_at" in DEFAULT_IGNORE


def test_rules_file_adds_operation_rules(tmp_path: Path) -> None:
    """A YAML rules file adds global and per-operation rules on top of the defaults."""
    file = tmp_path / "rules.yaml"
    file.write_text('ignore: ["$.noise"]\noperations:\n  "GET /x":\n    unordered: ["$.items"]\n')
    book = build_rulebook(["$.extra"], str(file))
    assert {"$.noise", "$.extra", "$.id"} <= set(book.default.ignore_paths)
    assert book.for_operation("GET /x").unordered_paths == ("$.items",)
    assert book.for_operation("GET /y").unordered_paths == ()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('ignore: ["items"]', "must start with"),
        ("ignore: 3", "ignore must be a list"),
        ("surprise: 1", "unknown field"),
        ("operations:\n  GET /x: 1", "operations.GET /x must be a mapping"),
    ],
)
def test_bad_rules_file_names_the_field(tmp_path: Path, content: str, message: str) -> None:
    """Bad rules stop the run with a message naming the problem."""
    file = tmp_path / "rules.yaml"
    file.write_text(content)
    with pytest.raises(RulesError, match=message):
        build_rulebook(rules_file=str(file))


def test_judging_severities() -> None:
    """Candidate-only violations and 5xx are ERR; shared violations and shared 5xx are WARN."""
    case = Case(operation(), "g")
    rules = ComparisonRules()
    shared = [("schema", "$.a", "bad")]
    findings = evaluate(case, observed({}, 500), observed({}, 500), rules, shared, shared)
    assert {(f.rule, f.severity) for f in findings} == {
        ("server-error-both", Severity.WARN),
        ("contract-violation-both", Severity.WARN),
    }
    findings = evaluate(case, observed({}), observed({}, 500), rules, [], shared)
    assert {f.rule for f in findings if f.severity is Severity.ERR} == {
        "server-error",
        "contract-violation",
        "mismatch-value",
    }
    unreachable = evaluate(case, observed({}), Observed(None, error="refused"), rules, [], [])
    assert [(f.rule, f.severity) for f in unreachable] == [("candidate-unreachable", Severity.ERR)]


@pytest.mark.parametrize(
    "argv",
    [
        ["--baseline", "ftp://x", "--candidate", "http://127.0.0.1:1"],
        [
            "--baseline",
            "http://127.0.0.1:1",
            "--candidate",
            "http://127.0.0.1:2",
            "--contract",
            "/nonexistent.json",
        ],
        [
            "--baseline",
            "http://127.0.0.1:1",
            "--candidate",
            "http://127.0.0.1:2",
            "--ignore",
            "nope",
        ],
        [
            "--baseline",
            "http://127.0.0.1:1",
            "--candidate",
            "http://127.0.0.1:2",
            "--max-examples",
            "-1",
        ],
    ],
)
def test_check_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Bad URLs, an unreadable contract, a bad rule or a negative budget: exit 2, nothing sent."""
    assert main(["contracts", "check", *argv]) == 2
    assert "cutover contracts check:" in capsys.readouterr().err


def test_unreachable_candidate_fails_the_check(tmp_path: Path) -> None:
    """A candidate that refuses connections makes every case fail (exit 1), not crash."""
    contract = tmp_path / "c.json"
    doc = base_spec()
    doc["paths"] = {"/tasks": {"get": doc["paths"]["/tasks"]["get"]}}
    contract.write_text(json.dumps(doc))
    out = tmp_path / "r.json"
    # Laid out by hand (fmt: skip): flags beside their values, as a shell command reads.
    code = main([
        "contracts", "check",
        "--baseline", "http://127.0.0.1:9", "--candidate", "http://127.0.0.1:9",
        "--contract", str(contract), "--max-examples", "1", "--format", "json",
        "--output", str(out), "--timeout", "2",
    ])  # fmt: skip
    assert code == 1
    rules = {f["rule"] for f in json.loads(out.read_text())["findings"]}
    assert rules == {"candidate-unreachable"}


def test_secured_operations_get_credential_cases() -> None:
    """Operations needing auth get a no-credentials and a wrong-credentials case; others none."""
    doc = base_spec()
    doc["security"] = [{"key": []}]
    doc["paths"]["/tasks"]["get"]["security"] = []
    ops = {op.key: op for op in load_operations(doc)}
    assert not ops["GET /tasks"].requires_auth
    assert ops["POST /tasks"].requires_auth
    template = cases_for(ops["POST /tasks"], 1, seed=0)[0]
    cases = auth_cases(ops["POST /tasks"], template)
    assert [(c.label, c.credentials, c.body) for c in cases] == [
        ("no credentials", "none", template.body),
        ("wrong credentials", "wrong", template.body),
    ]
    assert auth_cases(ops["GET /tasks"], cases_for(ops["GET /tasks"], 1, seed=0)[0]) == []
