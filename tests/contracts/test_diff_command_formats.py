"""`cutover contracts diff --format sarif|html|singleline` through the CLI; line placement."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from contracts.diff_command import operation_lines
from migration.cli.main import main
from tests.contracts.test_diff import base_spec, write_pair
from tests.contracts.test_diff_command import breaking_revision
from tests.contracts.test_report_sarif import validate


def findings_json(base: str, rev: str, capsys: pytest.CaptureFixture[str]) -> list[dict[str, str]]:
    """The findings as --format json reports them (rule ids are the diff's, whatever they are)."""
    main(["contracts", "diff", base, rev, "--format", "json"])
    findings: list[dict[str, str]] = json.loads(capsys.readouterr().out)["findings"]
    return findings


def test_sarif_output_validates_and_places_results(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--format sarif is a valid 2.1.0 log; results point at the operation's revision line."""
    revision = breaking_revision()
    base, rev = write_pair(tmp_path, revision)
    Path(rev).write_text(json.dumps(revision, indent=2))
    expected = findings_json(base, rev, capsys)
    assert main(["contracts", "diff", base, rev, "--format", "sarif"]) == 1
    log = json.loads(capsys.readouterr().out)
    validate(log)
    results = log["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == [f["rule"] for f in expected]
    levels = {"ERR": "error", "WARN": "warning", "INFO": "note"}
    assert [r["level"] for r in results] == [levels[f["severity"]] for f in expected]
    item = next(r for r in results if r["message"]["text"].startswith("GET /tasks/{task_id}"))
    physical = item["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == Path(rev).as_uri()
    line = Path(rev).read_text().splitlines()[physical["region"]["startLine"] - 1]
    assert line.strip().startswith('"get"')


def test_removed_operation_is_placed_in_the_base(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An operation only the base has gets its SARIF location in the base document."""
    revision = base_spec()
    del revision["paths"]["/tasks/{task_id}"]["delete"]
    base, rev = write_pair(tmp_path, revision)
    Path(base).write_text(json.dumps(base_spec(), indent=2))
    assert main(["contracts", "diff", base, rev, "--format", "sarif"]) == 1
    results = json.loads(capsys.readouterr().out)["runs"][0]["results"]
    removed = next(r for r in results if "DELETE /tasks/{task_id}" in r["message"]["text"])
    physical = removed["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == Path(base).as_uri()
    assert physical["region"]["startLine"] > 1


def test_html_output_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--format html --output FILE writes a standalone page and prints the verdict."""
    base, rev = write_pair(tmp_path, breaking_revision())
    out = tmp_path / "diff.html"
    assert main(["contracts", "diff", base, rev, "--format", "html", "--output", str(out)]) == 1
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "<h2>GET /tasks/{task_id}</h2>" in page
    assert "FAIL" in capsys.readouterr().out


def test_singleline_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--format singleline prints exactly one line per finding."""
    base, rev = write_pair(tmp_path, breaking_revision())
    expected = findings_json(base, rev, capsys)
    assert main(["contracts", "diff", base, rev, "--format", "singleline"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"{f['severity']} {f['rule']} {f['subject']} {f['location']}: {f['message']}"
        for f in expected
    ]


def test_operation_lines_in_json_and_yaml() -> None:
    """The method key below the path key is found in indented JSON and in YAML."""
    spec = base_spec()
    subjects = ("GET /tasks", "DELETE /tasks/{task_id}", "GET /nowhere", "tag")
    for text in (json.dumps(spec, indent=2), yaml.safe_dump(spec, sort_keys=False)):
        lines = text.splitlines()
        found = operation_lines(text, subjects)
        assert set(found) == {"GET /tasks", "DELETE /tasks/{task_id}"}
        assert lines[found["GET /tasks"] - 1].strip().strip('"').startswith("get")
        assert lines[found["DELETE /tasks/{task_id}"] - 1].strip().strip('"').startswith("delete")
        assert found["DELETE /tasks/{task_id}"] > found["GET /tasks"]


def test_operation_lines_on_one_line_document() -> None:
    """Compact JSON has no useful lines: nothing is placed (SARIF falls back to line 1)."""
    assert operation_lines(json.dumps(base_spec()), ("GET /tasks",)) == {}


def test_operation_lines_scale_linearly() -> None:
    """5,000 operations in indented JSON are all placed, each on its own method line."""
    paths: dict[str, Any] = {f"/r{i}/{{id}}": {"get": {"responses": {}}} for i in range(5000)}
    text = json.dumps({"openapi": "3.1.0", "paths": paths}, indent=2)
    subjects = tuple(f"GET /r{i}/{{id}}" for i in range(5000))
    found = operation_lines(text, subjects)
    lines = text.splitlines()
    assert len(found) == 5000
    assert all(lines[n - 1].strip().startswith('"get"') for n in found.values())
    assert len(set(found.values())) == 5000


def test_sarif_rules_are_explained_from_the_catalogue(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every SARIF rule descriptor carries the catalogue's one-line explanation."""
    from contracts.diff.rules import RULES

    base, rev = write_pair(tmp_path, breaking_revision())
    main(["contracts", "diff", base, rev, "--format", "sarif"])
    rules = json.loads(capsys.readouterr().out)["runs"][0]["tool"]["driver"]["rules"]
    assert rules
    assert all(r["fullDescription"]["text"] == RULES[r["id"]].summary for r in rules)
