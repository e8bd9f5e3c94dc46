"""The `cutover contracts` group: registration, export --check, replay input errors, judging."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from contracts.check.evaluate import Observed
from contracts.compare import ComparisonRules
from contracts.recording import encode_exchange, parse_line
from contracts.replay import judge_entry
from migration.cli.main import build_parser, main
from tests.contracts.test_recording import exchange


def test_group_registers_four_subcommands() -> None:
    """`cutover contracts` offers export, diff, check and replay."""
    parser = build_parser()
    for sub in ("export", "diff", "check", "replay"):
        assert parser.parse_args(_minimal(sub)).func


def _minimal(sub: str) -> list[str]:
    return {
        "export": ["contracts", "export"],
        "diff": ["contracts", "diff", "a", "b"],
        "check": ["contracts", "check", "--baseline", "http://a", "--candidate", "http://b"],
        "replay": ["contracts", "replay", "f", "--candidate", "http://a"],
    }[sub]


def test_group_without_subcommand_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """`cutover contracts` alone prints its help and exits 2."""
    assert main(["contracts"]) == 2
    assert "export" in capsys.readouterr().out


def test_export_check_passes_when_in_sync(capsys: pytest.CaptureFixture[str]) -> None:
    """`export --check` exits 0 when the checked-in contract is what the app exports."""
    from contracts import export

    if export.drift():
        pytest.skip("contracts/openapi.json is out of date in this work tree")
    assert main(["contracts", "export", "--check"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_export_check_exits_1_on_drift(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A changed app document: `export --check` prints the diff and exits 1 without writing."""
    from contracts import export

    original = export.openapi_document
    before = export.OPENAPI_PATH.read_bytes()

    def drifted() -> dict[str, Any]:
        doc = original()
        doc["info"]["title"] = "drifted"
        return doc

    monkeypatch.setattr(export, "openapi_document", drifted)
    assert main(["contracts", "export", "--check"]) == 1
    captured = capsys.readouterr()
    assert '"title": "drifted"' in captured.out
    assert "out of date" in captured.err
    assert export.OPENAPI_PATH.read_bytes() == before


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "cannot read"), ("garbage\n", "line 1: not JSON"), ('{"v": 9}\n', "not a version 1")],
)
def test_replay_bad_recording_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    """An unreadable or malformed recording exits 2 before any request is sent."""
    file = tmp_path / "rec.jsonl"
    if content is not None:
        file.write_text(content)
    assert main(["contracts", "replay", str(file), "--candidate", "http://127.0.0.1:9"]) == 2
    assert message in capsys.readouterr().err


def test_replay_judging_compares_with_the_recording() -> None:
    """A replayed response is compared with the recorded one; a truncated one by status only."""
    entry = parse_line(encode_exchange(exchange(), max_body_bytes=1024, now=0), 7)
    same = Observed(201, (("content-type", "application/json"),), b'{"id": "abc"}')
    other = Observed(201, (("content-type", "application/json"),), b'{"id": 5}')
    rules = ComparisonRules()
    assert judge_entry(entry, same, rules, []) == []
    [finding] = judge_entry(entry, other, rules, [])
    assert (finding.subject, finding.location, finding.rule) == (
        "line 7: POST /api/v1/tasks",
        "$.id",
        "deviation-type",
    )
    cut = parse_line(encode_exchange(exchange(), max_body_bytes=4, now=0), 7)
    assert judge_entry(cut, other, rules, []) == []


def test_check_finds_the_contract_outside_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`contracts check` with no --contract, run elsewhere, loads the packaged contract."""
    import contracts.check as check
    from contracts.report import Report

    seen: list[dict[str, Any]] = []

    def fake_check(document: dict[str, Any], *args: Any, **kwargs: Any) -> Report:
        seen.append(document)
        return Report(tool="check", subjects=(), findings=())

    monkeypatch.chdir(tmp_path)  # no contracts/openapi.json relative to here
    monkeypatch.setattr(check, "check_backends", fake_check)
    assert main(_minimal("check")) == 0
    assert len(seen) == 1
    assert "/api/v1/tasks" in seen[0]["paths"]


def test_the_contract_ships_as_package_data() -> None:
    """pyproject's package data for `contracts` has openapi.json: an installed cutover has it."""
    import fnmatch
    import tomllib

    from contracts.commands import packaged_contract

    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text("utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["contracts"]
    assert any(fnmatch.fnmatch("openapi.json", p) for p in patterns)
    assert Path(packaged_contract()).is_file()
