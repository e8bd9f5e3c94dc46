"""`cutover contracts diff`: exit codes and the five report formats."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from migration.cli.main import main
from tests.contracts.test_diff import base_spec, schemas, write_pair


def breaking_revision() -> dict[str, Any]:
    """Base spec with one ERR (removed response property) and one WARN (new response enum value)."""
    revision = base_spec()
    schemas(revision)["Task"]["properties"].pop("title")
    schemas(revision)["Task"]["properties"]["priority"]["enum"].append("urgent")
    return revision


def test_identical_documents_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Diffing a document with itself exits 0 and says PASS."""
    base, rev = write_pair(tmp_path, base_spec())
    assert main(["contracts", "diff", base, rev]) == 0
    assert "PASS" in capsys.readouterr().out


def test_breaking_change_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An ERR finding fails the default --fail-on ERR, naming the operation and JSON path."""
    base, rev = write_pair(tmp_path, breaking_revision())
    assert main(["contracts", "diff", base, rev]) == 1
    out = capsys.readouterr().out
    assert "GET /tasks/{task_id}" in out
    assert "response 200 $.title" in out


def test_fail_on_threshold(tmp_path: Path) -> None:
    """WARN-only changes pass at ERR and fail at WARN."""
    revision = base_spec()
    schemas(revision)["Task"]["properties"]["priority"]["enum"].append("urgent")
    base, rev = write_pair(tmp_path, revision)
    assert main(["contracts", "diff", base, rev]) == 0
    assert main(["contracts", "diff", base, rev, "--fail-on", "WARN"]) == 1
    assert main(["contracts", "diff", base, rev, "--fail-on", "warning"]) == 1


def test_yaml_revision_is_accepted(tmp_path: Path) -> None:
    """A YAML document is read like a JSON one."""
    base, rev = write_pair(tmp_path, base_spec(), yaml_revision=True)
    assert main(["contracts", "diff", base, rev]) == 0


@pytest.mark.parametrize(
    "problem",
    ["missing-file", "not-openapi", "swagger2", "bad-yaml", "bad-fail-on"],
)
def test_usage_errors_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], problem: str
) -> None:
    """Unreadable, non-OpenAPI-3 or malformed input and a bad --fail-on exit 2 with a message."""
    base, rev = write_pair(tmp_path, base_spec())
    bad = tmp_path / "bad.yaml"
    args = ["contracts", "diff", base, str(bad)]
    if problem == "missing-file":
        args[3] = str(tmp_path / "nope.json")
    elif problem == "not-openapi":
        bad.write_text(yaml.safe_dump({"hello": "world"}))
    elif problem == "swagger2":
        bad.write_text(json.dumps({"swagger": "2.0", "paths": {}}))
    elif problem == "bad-yaml":
        bad.write_text("a: [unclosed")
    else:
        args = ["contracts", "diff", base, rev, "--fail-on", "LOUD"]
    assert main(args) == 2
    assert "cutover contracts diff:" in capsys.readouterr().err


def test_json_format_parses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--format json is one JSON document with the verdict and every finding."""
    base, rev = write_pair(tmp_path, breaking_revision())
    assert main(["contracts", "diff", base, rev, "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["passed"] is False
    rules = {(f["severity"], f["rule"]) for f in doc["findings"]}
    assert ("ERR", "response-body-required-property-removed") in rules
    assert ("WARN", "response-body-enum-value-added") in rules


def test_junit_format_parses_with_failures(tmp_path: Path) -> None:
    """--format junit --output FILE: JUnit XML, a testcase per operation, failures for ERRs."""
    base, rev = write_pair(tmp_path, breaking_revision())
    out = tmp_path / "diff.xml"
    assert main(["contracts", "diff", base, rev, "--format", "junit", "--output", str(out)]) == 1
    suite = ET.parse(out).getroot()
    assert suite.tag == "testsuite"
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert set(cases) >= {
        "GET /tasks",
        "POST /tasks",
        "GET /tasks/{task_id}",
        "DELETE /tasks/{task_id}",
    }
    assert cases["GET /tasks/{task_id}"].find("failure") is not None
    assert cases["DELETE /tasks/{task_id}"].find("failure") is None
    assert int(suite.get("failures", "0")) == 3  # GET list, GET item, POST all return Task


def test_github_annotations(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--format github prints workflow commands: ::error for ERR and ::warning for WARN."""
    base, rev = write_pair(tmp_path, breaking_revision())
    main(["contracts", "diff", base, rev, "--format", "github"])
    lines = capsys.readouterr().out.splitlines()
    errors = [line for line in lines if line.startswith("::error title=")]
    warnings = [line for line in lines if line.startswith("::warning title=")]
    assert errors
    assert warnings
    assert all("::" in line[2:] for line in errors)
    assert any(
        "response-body-required-property-removed GET /tasks/{task_id}::response 200 $.title" in line
        for line in errors
    )


def test_markdown_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--format markdown renders a verdict heading and a findings table."""
    base, rev = write_pair(tmp_path, breaking_revision())
    main(["contracts", "diff", base, rev, "--format", "markdown"])
    out = capsys.readouterr().out
    assert out.startswith("## Contract diff: ❌ FAIL")
    assert "| ERR | `GET /tasks/{task_id}` | `response 200 $.title` |" in out


def test_checked_in_contract_diffs_clean_against_itself(capsys: pytest.CaptureFixture[str]) -> None:
    """The exported contract (FastAPI's OpenAPI 3.1) is understood by the diff without findings."""
    contract = Path(__file__).resolve().parents[2] / "contracts" / "openapi.json"
    if not contract.exists():
        pytest.skip("contracts/openapi.json not exported yet")
    assert main(["contracts", "diff", str(contract), str(contract), "--fail-on", "INFO"]) == 0
