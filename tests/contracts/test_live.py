"""`contracts check` and `contracts replay` against the two real backends (and a broken candidate).

Both backends run as real servers on 127.0.0.1 over one temporary project root and one SQLite file,
as in production. The baseline uses the in-process bridge: the HTTP layer under test is the same,
and the subprocess bridge would make every request spawn a CLI (about 5x slower for the whole run).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from contracts.recording import Exchange, Recorder
from migration.cli.main import main
from tests.support.servers import free_port, python_argv, run_process

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
API_KEY = "contract-test-key"
HEALTH = "/api/v1/system/health"


@dataclass(frozen=True)
class Stack:
    """URLs of the running servers and the scratch directory."""

    baseline: str
    candidate: str
    broken: str
    scratch: Path


def make_project(root: Path) -> None:
    """A tiny project for the backends to scan."""
    (root / "pkg").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "1.0"\n')
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "core.py").write_text("class A:\n    def f(self):\n        return 1\n")
    (root / "README.md").write_text("# demo\n")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Baseline, candidate and broken candidate on loopback, sharing one project and database."""
    scratch = tmp_path_factory.mktemp("contracts-live")
    make_project(scratch / "project")
    env = {
        "LLMSTRUCT_PROJECT_ROOT": str(scratch / "project"),
        "LLMSTRUCT_DATABASE": str(scratch / "llmstruct.db"),
        "LLMSTRUCT_API_KEY": API_KEY,
        "LLMSTRUCT_BRIDGE_MODE": "inprocess",
        "PYTHONPATH": str(REPO),
    }
    ports = [free_port() for _ in range(3)]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    with (
        run_process(
            python_argv("-m", "fastapi_backend", "--port", str(ports[0])), urls[0] + HEALTH, env
        ),
        run_process(
            python_argv("-m", "custom_backend", "--port", str(ports[1])), urls[1] + HEALTH, env
        ),
        run_process(
            python_argv(
                "-m",
                "tests.contracts.broken_candidate",
                "--upstream",
                urls[1],
                "--port",
                str(ports[2]),
            ),
            urls[2] + HEALTH,
            env,
        ),
    ):
        yield Stack(urls[0], urls[1], urls[2], scratch)


def check_args(stack: Stack, candidate: str, tmp_path: Path, *extra: str) -> list[str]:
    # Laid out by hand (fmt: skip): a flag and its value a line, as a shell command reads.
    return [
        "contracts", "check",
        "--baseline", stack.baseline,
        "--candidate", candidate,
        "--contract", str(REPO / "contracts" / "openapi.json"),
        "--api-key", API_KEY,
        "--max-examples", "4",
        "--junit", str(tmp_path / "check.xml"),
        "--markdown", str(tmp_path / "check.md"),
        "--format", "json",
        "--output", str(tmp_path / "check.json"),
        *extra,
    ]  # fmt: skip


def test_check_passes_against_the_two_real_backends(stack: Stack, tmp_path: Path) -> None:
    """The custom backend is compatible with the FastAPI one on every operation, writes included."""
    assert main(check_args(stack, stack.candidate, tmp_path, "--allow-writes")) == 0
    report = json.loads((tmp_path / "check.json").read_text())
    assert report["passed"], report["findings"]
    assert report["stats"]["cases"] >= 30
    suite = ET.parse(tmp_path / "check.xml").getroot()
    assert suite.get("failures") == "0"
    assert int(suite.get("tests", "0")) == 10
    assert "Contract check: ✅ PASS" in (tmp_path / "check.md").read_text()


def test_check_without_allow_writes_runs_reads_and_skips_writes(
    stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --allow-writes the safe operations run and every write is reported as skipped."""
    assert main(check_args(stack, stack.candidate, tmp_path)) == 0
    assert "read-only run" in capsys.readouterr().err
    report = json.loads((tmp_path / "check.json").read_text())
    assert {s["subject"] for s in report["skipped"]} == {
        "POST /api/v1/project/scan",
        "POST /api/v1/tasks",
        "PATCH /api/v1/tasks/{task_id}",
        "DELETE /api/v1/tasks/{task_id}",
    }
    skipped = ET.parse(tmp_path / "check.xml").getroot().get("skipped")
    assert skipped == "4"


def test_check_fails_against_a_broken_candidate(stack: Stack, tmp_path: Path) -> None:
    """Wrong type, missing field, undocumented status, a 500: each caught at operation and path."""
    assert main(check_args(stack, stack.broken, tmp_path, "--allow-writes")) == 1
    report = json.loads((tmp_path / "check.json").read_text())
    errors = {
        (f["subject"], f["rule"], f["location"])
        for f in report["findings"]
        if f["severity"] == "ERR"
    }
    assert ("GET /api/v1/system/status", "mismatch-type", "$.task_counts.open") in errors
    assert ("GET /api/v1/system/status", "contract-violation", "$.task_counts.open") in errors
    assert ("GET /api/v1/project/info", "mismatch-missing", "$.languages") in errors
    assert ("DELETE /api/v1/tasks/{task_id}", "contract-violation", "$") in errors
    assert ("GET /api/v1/tasks/{task_id}", "server-error", "status") in errors
    undocumented = [
        f for f in report["findings"] if f["subject"] == "DELETE /api/v1/tasks/{task_id}"
    ]
    assert any("418" in f["message"] for f in undocumented)
    suite = ET.parse(tmp_path / "check.xml").getroot()
    failed = {c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None}
    assert failed == {
        "GET /api/v1/system/status",
        "GET /api/v1/project/info",
        "DELETE /api/v1/tasks/{task_id}",
        "GET /api/v1/tasks/{task_id}",
    }
    assert "❌ FAIL" in (tmp_path / "check.md").read_text()


def record_from(url: str, path: Path) -> None:
    """Record a few safe requests answered by ``url`` with the gateway's Recorder."""
    requests = [
        ("GET", HEALTH, ""),
        ("GET", "/api/v1/system/status", ""),
        ("GET", "/api/v1/project/info", ""),
        ("GET", "/api/v1/tasks", "limit=5"),
        ("GET", "/api/v1/tasks/0123456789abcdef0123456789abcdef", ""),
        ("DELETE", "/api/v1/tasks/0123456789abcdef0123456789abcdef", ""),
    ]
    with (
        httpx.Client(base_url=url, headers={"x-api-key": API_KEY}) as client,
        Recorder(path) as recorder,
    ):
        for method, route, query in requests:
            response = client.request(method, route + (f"?{query}" if query else ""))
            recorder.record(
                Exchange(
                    method,
                    route,
                    query,
                    list(response.request.headers.multi_items()),
                    b"",
                    response.status_code,
                    list(response.headers.multi_items()),
                    response.content,
                )
            )


def replay_args(file: Path, candidate: str, tmp_path: Path, *extra: str) -> list[str]:
    # Laid out by hand (fmt: skip): a flag and its value a line, as a shell command reads.
    return [
        "contracts", "replay", str(file),
        "--candidate", candidate,
        "--api-key", API_KEY,
        "--contract", str(REPO / "contracts" / "openapi.json"),
        "--format", "json",
        "--output", str(tmp_path / "replay.json"),
        "--junit", str(tmp_path / "replay.xml"),
        *extra,
    ]  # fmt: skip


def test_replay_of_baseline_traffic_matches_the_candidate(stack: Stack, tmp_path: Path) -> None:
    """Traffic recorded from the baseline replays on the candidate without deviations."""
    recording = tmp_path / "traffic.jsonl"
    record_from(stack.baseline, recording)
    assert main(replay_args(recording, stack.candidate, tmp_path, "--allow-writes")) == 0
    report = json.loads((tmp_path / "replay.json").read_text())
    assert report["stats"] == {"entries": 6, "replayed": 6}
    assert ET.parse(tmp_path / "replay.xml").getroot().get("failures") == "0"


def test_replay_reports_deviations_with_line_and_path(stack: Stack, tmp_path: Path) -> None:
    """Broken candidate: replay names each bad line and JSON path; writes are skipped by default."""
    recording = tmp_path / "traffic.jsonl"
    record_from(stack.baseline, recording)
    assert main(replay_args(recording, stack.broken, tmp_path)) == 1
    report = json.loads((tmp_path / "replay.json").read_text())
    found = {(f["subject"], f["rule"], f["location"]) for f in report["findings"]}
    assert ("line 2: GET /api/v1/system/status", "deviation-type", "$.task_counts.open") in found
    assert ("line 3: GET /api/v1/project/info", "deviation-missing", "$.languages") in found
    assert (
        "line 5: GET /api/v1/tasks/0123456789abcdef0123456789abcdef",
        "deviation-value",
        "status",
    ) in found
    assert report["skipped"] == [
        {
            "subject": "line 6: DELETE /api/v1/tasks/0123456789abcdef0123456789abcdef",
            "reason": "state-changing request; pass --allow-writes to replay it",
        }
    ]
