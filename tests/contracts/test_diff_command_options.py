"""Every `cutover contracts diff` option through the real CLI, on small spec files in tmp_path.

Rule ids are read from the command's own JSON output (or matched with globs) rather than spelled
out, so that these tests pin what the options do, not what the rules are called.
"""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from migration.cli.main import main
from tests.contracts.test_diff import base_spec, schemas, write_pair
from tests.contracts.test_diff_command import breaking_revision

Spec = dict[str, Any]


def diff_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    """Run the diff with --format json; the exit code and the parsed document."""
    code = main(["contracts", "diff", *args, "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def write(tmp_path: Path, name: str, content: Any) -> str:
    """Write YAML (JSON is YAML) to tmp_path/name and return the path."""
    path = tmp_path / name
    path.write_text(yaml.safe_dump(content, sort_keys=False))
    return str(path)


def write_docs(tmp_path: Path, base: Spec, revision: Spec) -> tuple[str, str]:
    """Both documents as JSON files."""
    (tmp_path / "b.json").write_text(json.dumps(base))
    (tmp_path / "r.json").write_text(json.dumps(revision))
    return str(tmp_path / "b.json"), str(tmp_path / "r.json")


def title_entry(**extra: Any) -> dict[str, Any]:
    """Accept every finding about the removed response property $.title."""
    return {
        "rule": "*",
        "operation": "*",
        "location": "response *.title",
        "reason": "clients stopped reading title",
        **extra,
    }


def test_ignore_accepts_findings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Ignored ERR findings no longer fail the run; the count is in stats and notes."""
    base, rev = write_pair(tmp_path, breaking_revision())
    ignore = write(tmp_path, "ignore.yaml", [title_entry(expires="2999-12-31")])
    code, doc = diff_json([base, rev, "--ignore", ignore], capsys)
    assert code == 0
    assert not [f for f in doc["findings"] if "$.title" in f["location"]]
    assert doc["stats"]["ignored"] >= 1
    assert any(f"ignored by {ignore}" in note for note in doc["notes"])


def test_expired_ignore_entry_warns_and_stops_ignoring(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """After its expiry date an entry ignores nothing and adds a WARN naming file and entry."""
    base, rev = write_pair(tmp_path, breaking_revision())
    ignore = write(tmp_path, "ignore.yaml", [title_entry(expires="2001-01-01")])
    code, doc = diff_json([base, rev, "--ignore", ignore], capsys)
    assert code == 1
    expired = [f for f in doc["findings"] if f["rule"] == "ignore-entry-expired"]
    assert [(f["severity"], f["subject"]) for f in expired] == [("WARN", ignore)]
    assert expired[0]["location"].startswith("entry 1: * on *")
    assert ignore in doc["subjects"]
    assert "2001-01-01" in expired[0]["message"]
    assert [f for f in doc["findings"] if "$.title" in f["location"]]


def test_unused_ignore_entry_is_info(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An entry that matched nothing is reported as INFO (and fails only at --fail-on INFO)."""
    base, rev = write_pair(tmp_path, base_spec())
    entry = {"rule": "*", "operation": "GET /gone", "reason": "old"}
    ignore = write(tmp_path, "ignore.json", [entry])
    code, doc = diff_json([base, rev, "--ignore", ignore], capsys)
    assert code == 0
    assert [(f["severity"], f["rule"]) for f in doc["findings"]] == [
        ("INFO", "ignore-entry-unused")
    ]
    assert main(["contracts", "diff", base, rev, "--ignore", ignore, "--fail-on", "INFO"]) == 1


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ([{"rule": "x", "operation": "GET /"}], "entry 1: 'reason' is required"),
        ([{"rule": "x", "operation": "GET /", "reason": "r", "expires": "soon"}], "1: 'expires'"),
        ({"rule": "x"}, "expected a list"),
    ],
)
def test_bad_ignore_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: Any, expected: str
) -> None:
    """A malformed ignore file exits 2 with the file, entry and field on stderr."""
    base, rev = write_pair(tmp_path, base_spec())
    ignore = write(tmp_path, "ignore.yaml", content)
    assert main(["contracts", "diff", base, rev, "--ignore", ignore]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"cutover contracts diff: {ignore}: ")
    assert expected in err


@pytest.mark.parametrize("option", ["--ignore", "--severity"])
def test_missing_option_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str
) -> None:
    """An option file that cannot be read exits 2 naming it."""
    base, rev = write_pair(tmp_path, base_spec())
    missing = str(tmp_path / "nope.yaml")
    assert main(["contracts", "diff", base, rev, option, missing]) == 2
    assert f"cannot read {missing}" in capsys.readouterr().err


def test_severity_override_raises_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A WARN-only diff passes; mapping its rule to ERR in --severity makes it fail."""
    revision = base_spec()
    schemas(revision)["Task"]["properties"]["priority"]["enum"].append("urgent")
    base, rev = write_pair(tmp_path, revision)
    code, doc = diff_json([base, rev], capsys)
    assert code == 0
    rules = {f["rule"] for f in doc["findings"] if f["severity"] == "WARN"}
    severity = write(tmp_path, "sev.yaml", dict.fromkeys(rules, "ERR"))
    code, doc = diff_json([base, rev, "--severity", severity], capsys)
    assert code == 1
    assert {f["severity"] for f in doc["findings"] if f["rule"] in rules} == {"ERR"}


def test_severity_off_and_globs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """'*: INFO' passes a breaking diff; a bare YAML off drops every finding."""
    base, rev = write_pair(tmp_path, breaking_revision())
    lowered = tmp_path / "info.yaml"
    lowered.write_text('"*": INFO\n')
    code, doc = diff_json([base, rev, "--severity", str(lowered)], capsys)
    assert code == 0
    assert {f["severity"] for f in doc["findings"]} == {"INFO"}
    off = tmp_path / "off.yaml"
    off.write_text('"*": off\n')
    code, doc = diff_json([base, rev, "--severity", str(off)], capsys)
    assert (code, doc["findings"]) == (0, [])


def test_bad_severity_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown level exits 2 naming the file and the entry."""
    base, rev = write_pair(tmp_path, base_spec())
    severity = write(tmp_path, "sev.yaml", {"a": "ERR", "b": "LOUD"})
    assert main(["contracts", "diff", base, rev, "--severity", severity]) == 2
    assert f"{severity}: entry 2 ('b'): level must be" in capsys.readouterr().err


def test_include_and_exclude(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--include narrows subjects and findings; --exclude removes them; both repeatable."""
    base, rev = write_pair(tmp_path, breaking_revision())
    code, doc = diff_json([base, rev, "--include", "/tasks/*"], capsys)
    assert set(doc["subjects"]) == {"GET /tasks/{task_id}", "DELETE /tasks/{task_id}"}
    assert {f["subject"] for f in doc["findings"]} == {"GET /tasks/{task_id}"}
    assert code == 1
    code, doc = diff_json([base, rev, "--exclude", "GET *", "--exclude", "POST /tasks"], capsys)
    assert doc["subjects"] == ["DELETE /tasks/{task_id}"]
    assert (code, doc["findings"]) == (0, [])


def prefixed(prefix: str) -> Spec:
    """The base spec with every path under ``prefix``."""
    doc = base_spec()
    doc["paths"] = {prefix + path: item for path, item in doc["paths"].items()}
    return doc


@pytest.mark.parametrize(
    ("base", "revision", "options"),
    [
        ("/api/v1", "", ["--strip-prefix-base", "/api/v1"]),
        ("/api/v1", "", ["--prefix-revision", "/api/v1"]),
        ("", "/v2", ["--strip-prefix-revision", "/v2"]),
        ("", "/v2", ["--prefix-base", "/v2/"]),
        ("/api/v1", "/v2", ["--strip-prefix-base", "/api/v1", "--prefix-base", "/v2"]),
    ],
)
def test_path_prefix_options(tmp_path: Path, base: str, revision: str, options: list[str]) -> None:
    """Moved base paths are removed+added operations, unless the prefix options line them up."""
    base_file, rev_file = write_docs(tmp_path, prefixed(base), prefixed(revision))
    assert main(["contracts", "diff", base_file, rev_file]) == 1
    assert main(["contracts", "diff", base_file, rev_file, "--fail-on", "INFO", *options]) == 0


def test_header_names_compare_case_insensitively(tmp_path: Path) -> None:
    """A header parameter renamed only in case is no change, with or without the oasdiff flag."""
    base = base_spec()
    header = {
        "name": "X-Request-Id",
        "in": "header",
        "required": True,
        "schema": {"type": "string"},
    }
    base["paths"]["/tasks"]["get"]["parameters"].append(header)
    revision = copy.deepcopy(base)
    revision["paths"]["/tasks"]["get"]["parameters"][-1]["name"] = "x-request-id"
    base_file, rev_file = write_docs(tmp_path, base, revision)
    args = ["contracts", "diff", base_file, rev_file, "--fail-on", "INFO"]
    assert main(args) == 0
    assert main([*args, "--case-insensitive-headers"]) == 0
    revision["paths"]["/tasks"]["get"]["parameters"][-1]["name"] = "x-correlation-id"
    base_file, rev_file = write_docs(tmp_path, base, revision)
    assert main(["contracts", "diff", base_file, rev_file, "--case-insensitive-headers"]) == 1


def deprecated_delete(sunset: str | None = None) -> Spec:
    """The base spec with DELETE /tasks/{task_id} deprecated (with an x-sunset date if given)."""
    doc = base_spec()
    op = doc["paths"]["/tasks/{task_id}"]["delete"]
    op["deprecated"] = True
    if sunset:
        op["x-sunset"] = sunset
    return doc


@pytest.mark.parametrize(
    ("sunset", "days", "rule"),
    [
        (None, None, "operation-deprecated"),
        (None, "30", "operation-sunset-too-early"),
        ("2999-01-01", "30", "operation-deprecated"),
    ],
)
def test_deprecation_days_when_deprecating(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    sunset: str | None,
    days: str | None,
    rule: str,
) -> None:
    """With --deprecation-days N a newly deprecated operation needs an x-sunset N days away."""
    base, rev = write_docs(tmp_path, base_spec(), deprecated_delete(sunset))
    extra = ["--deprecation-days", days] if days else []
    _, doc = diff_json([base, rev, *extra], capsys)
    found = {f["rule"] for f in doc["findings"] if f["subject"] == "DELETE /tasks/{task_id}"}
    assert rule in found
    assert ("operation-sunset-too-early" in found) is (rule == "operation-sunset-too-early")


def test_deprecation_days_when_removing(tmp_path: Path) -> None:
    """Removing a deprecated operation without x-sunset is allowed at 0 days, breaking at N > 0."""
    revision = base_spec()
    del revision["paths"]["/tasks/{task_id}"]["delete"]
    base, rev = write_docs(tmp_path, deprecated_delete(), revision)
    assert main(["contracts", "diff", base, rev]) == 0
    assert main(["contracts", "diff", base, rev, "--deprecation-days", "30"]) == 1


def test_negative_deprecation_days_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A negative --deprecation-days is a usage error."""
    base, rev = write_pair(tmp_path, base_spec())
    assert main(["contracts", "diff", base, rev, "--deprecation-days", "-1"]) == 2
    assert "--deprecation-days must be 0 or more" in capsys.readouterr().err


def test_options_combine_with_sarif(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An ignore list's expired entry shows up in SARIF as a warning result of its own rule."""
    base, rev = write_pair(tmp_path, breaking_revision())
    ignore = write(tmp_path, "ignore.yaml", [title_entry(expires="2001-01-01")])
    main(["contracts", "diff", base, rev, "--ignore", ignore, "--format", "sarif"])
    run = json.loads(capsys.readouterr().out)["runs"][0]
    assert "ignore-entry-expired" in [r["id"] for r in run["tool"]["driver"]["rules"]]
    expired = [r for r in run["results"] if r["ruleId"] == "ignore-entry-expired"]
    assert [r["level"] for r in expired] == ["warning"]
    physical = expired[0]["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == Path(ignore).as_uri()


def test_expired_entry_fails_the_ignore_files_junit_testcase(tmp_path: Path) -> None:
    """At --fail-on WARN the ignore file is a failing JUnit testcase of its own."""
    base, rev = write_pair(tmp_path, base_spec())
    ignore = write(tmp_path, "ignore.yaml", [title_entry(expires="2001-01-01")])
    out = tmp_path / "diff.xml"
    args = ["--ignore", ignore, "--fail-on", "WARN", "--format", "junit", "--output", str(out)]
    assert main(["contracts", "diff", base, rev, *args]) == 1
    cases = {c.get("name"): c for c in ET.parse(out).getroot().iter("testcase")}
    assert cases[ignore].find("failure") is not None


def test_expect_file_lists_documented_response_changes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--expect-file writes every body change of the selected operations, ignored or not."""
    base, rev = write_pair(tmp_path, breaking_revision())
    out = tmp_path / "expected.json"
    ignore = write(tmp_path, "ignore.yaml", [title_entry()])
    args = [base, rev, "--expect-file", str(out), "--ignore", ignore, "--exclude", "POST *"]
    code, _ = diff_json(args, capsys)
    assert code == 0  # the ignore list decides CI; the file records what the spec documents
    written = json.loads(out.read_text())
    entries = {(e["operation"], e["status"], e["path"]) for e in written["expected"]}
    assert ("GET /tasks/{task_id}", "200", "$.title") in entries
    assert ("GET /tasks", "200", "$.items[*].title") in entries
    assert not [e for e in entries if e[0].startswith("POST")]
    assert (written["base"], written["revision"]) == (base, rev)


def test_unwritable_expect_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A path that cannot be written exits 2 naming it."""
    base, rev = write_pair(tmp_path, breaking_revision())
    target = tmp_path / "missing-dir" / "expected.json"
    assert main(["contracts", "diff", base, rev, "--expect-file", str(target)]) == 2
    assert f"cannot write {target}" in capsys.readouterr().err
