"""Contract diff bench (issue #16): two generated 5,000-operation specs, diffed as CI would.

The base document has ``--operations`` operations (four methods on each of N/4 paths) over a pool of
component schemas: query, header and path parameters, a ``$ref`` request body, a response object
with nested objects, arrays, enums, bounds and an ``anyOf``. The revision is the same document with
seeded mutations on about 5 % of the operations and 10 % of the schemas (types changed, enum values
added, properties removed or made required, bounds moved, operations added and removed), so the diff
walks everything and reports a realistic number of findings.

Rows: ``diff_documents`` alone (meta-schema validation of both documents included), the validation
alone, and the whole command (``cutover contracts diff`` on two JSON files, text report to a file).
Each is the median of ``--repeat`` runs. Target: the whole command under 5 s.

Run: ``python -m bench contracts_diff`` or ``python -m bench.contracts_diff --operations N --repeat
N``. Prints a markdown table, writes ``bench/results/contracts_diff.json``; exits 0 when the target
is met.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from contracts.diff import diff_documents
from contracts.diff.validate import validate_spec

RESULTS = Path(__file__).parent / "results" / "contracts_diff.json"
TARGET_S = 5.0
Spec = dict[str, Any]


def _schema(rng: random.Random, index: int, pool: int) -> Spec:
    props: dict[str, Any] = {
        "id": {"type": "string", "format": "uuid"},
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "status": {"type": "string", "enum": ["open", "done", "blocked"]},
        "count": {"type": "integer", "minimum": 0, "maximum": 10_000},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 20},
        "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "meta": {
            "type": "object",
            "properties": {"created": {"type": "string", "format": "date-time"}},
        },
    }
    if index + 1 < pool and rng.random() < 0.5:
        props["child"] = {"$ref": f"#/components/schemas/S{index + 1}"}
    return {"type": "object", "properties": props, "required": ["id", "name"]}


def generate(operations: int, seed: int = 1) -> Spec:
    """A valid OpenAPI 3.1 document with ``operations`` operations."""
    rng = random.Random(seed)
    pool = max(10, operations // 25)
    schemas = {f"S{i}": _schema(rng, i, pool) for i in range(pool)}
    paths: dict[str, Any] = {}
    for n in range(operations // 4):
        ref = {"$ref": f"#/components/schemas/S{rng.randrange(pool)}"}
        body = {"required": True, "content": {"application/json": {"schema": ref}}}
        ok = {"description": "ok", "content": {"application/json": {"schema": ref}}}
        listing = {"type": "array", "items": ref}
        query = [
            {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 200}},
            {"name": "X-Tenant", "in": "header", "schema": {"type": "string"}},
        ]
        path_param = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]
        errors = {"404": {"description": "missing"}, "422": {"description": "invalid"}}
        paths[f"/r{n}"] = {
            "get": {
                "parameters": query,
                "responses": {
                    "200": {
                        "description": "ok",
                        "content": {"application/json": {"schema": listing}},
                    }
                },
            },
            "post": {"requestBody": body, "responses": {"201": ok, **errors}},
        }
        paths[f"/r{n}/{{id}}"] = {
            "parameters": path_param,
            "get": {"responses": {"200": ok, **errors}},
            "put": {"requestBody": body, "responses": {"200": ok, **errors}},
        }
    return {
        "openapi": "3.1.0",
        "info": {"title": "bench", "version": "1"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def mutate(base: Spec, seed: int = 2) -> Spec:
    """The revision: seeded changes on ~5 % of operations and ~10 % of schemas."""
    rng = random.Random(seed)
    doc = copy.deepcopy(base)
    for schema in doc["components"]["schemas"].values():
        if rng.random() >= 0.1:
            continue
        props = schema["properties"]
        choice = rng.randrange(5)
        if choice == 0:
            props["count"]["type"] = "number"
        elif choice == 1:
            props["status"]["enum"].append("archived")
        elif choice == 2:
            props.pop("tags")
        elif choice == 3:
            schema["required"].append("status")
        else:
            props["name"]["maxLength"] = 100
    paths = doc["paths"]
    for path in list(paths):
        roll = rng.random()
        if roll < 0.01:
            del paths[path]
        elif roll < 0.03 and "get" in paths[path]:
            paths[path]["get"].setdefault("parameters", []).append(
                {"name": "sort", "in": "query", "required": True, "schema": {"type": "string"}}
            )
        elif roll < 0.05:
            paths[path + "/extra"] = {"get": {"responses": {"200": {"description": "ok"}}}}
    return doc


def _median(run: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def run(operations: int, repeat: int) -> dict[str, Any]:
    """Time the three rows."""
    from migration.cli.main import main as cli

    base = generate(operations)
    revision = mutate(base)
    ops = sum(1 for item in base["paths"].values() for m in item if m in ("get", "put", "post"))
    diff_s, findings = _median(lambda: diff_documents(base, revision), repeat)

    def validate_both() -> None:
        validate_spec(base, "base")
        validate_spec(revision, "revision")

    validate_s, _ = _median(validate_both, repeat)
    with tempfile.TemporaryDirectory() as tmp:
        base_file, rev_file = Path(tmp) / "base.json", Path(tmp) / "rev.json"
        base_file.write_text(json.dumps(base))
        rev_file.write_text(json.dumps(revision))
        out = Path(tmp) / "report.txt"
        argv = ["contracts", "diff", str(base_file), str(rev_file), "--output", str(out)]
        command_s, code = _median(lambda: cli(argv), repeat)
    by_level: dict[str, int] = {}
    for finding in findings:
        by_level[finding.severity.name] = by_level.get(finding.severity.name, 0) + 1
    return {
        "operations": ops,
        "findings": len(findings),
        "findings_by_level": by_level,
        "diff_documents_s": round(diff_s, 3),
        "validation_s": round(validate_s, 3),
        "command_s": round(command_s, 3),
        "command_exit_code": code,
        "target_s": TARGET_S,
        "met": command_s < TARGET_S,
        "repeat": repeat,
    }


def render(results: dict[str, Any]) -> str:
    """The markdown table."""
    return "\n".join(
        [
            f"{results['operations']} operations per document, {results['findings']} findings "
            f"{results['findings_by_level']}, median of {results['repeat']}",
            "",
            "| row | seconds | target |",
            "| --- | ---: | --- |",
            f"| diff_documents (validation included) | {results['diff_documents_s']} | |",
            f"| meta-schema validation of both | {results['validation_s']} | |",
            f"| `cutover contracts diff` (load, validate, diff, report) | {results['command_s']} "
            f"| < {TARGET_S} s: {'met' if results['met'] else 'NOT met'} |",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    """Run the bench; 0 when the command meets the target."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.contracts_diff", description="Contract diff bench (issue #16)."
    )
    parser.add_argument("--operations", type=int, default=5000, help="operations per document")
    parser.add_argument("--repeat", type=int, default=3, help="runs per row (median)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    results = run(args.operations, args.repeat)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(render(results))
    print(f"\n(wrote {RESULTS})")
    return 0 if results["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
