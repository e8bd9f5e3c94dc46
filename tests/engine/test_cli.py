"""The llmstruct CLI as the legacy backend runs it: a subprocess per call, JSON out, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from engine.cli import main

REPO = Path(__file__).resolve().parents[2]


def cli(project: Path, db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m engine.cli ARGS`` against the tmp project and database."""
    env = {**os.environ, "LLMSTRUCT_PROJECT_ROOT": str(project), "LLMSTRUCT_DATABASE": str(db)}
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
        check=False,
    )


def ok(project: Path, db: Path, *args: str) -> Any:
    """Run a command that must succeed and return its JSON."""
    done = cli(project, db, *args)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return json.loads(done.stdout)


def error(done: subprocess.CompletedProcess[str], code: int, kind: str) -> str:
    """Check a failure: exit code, JSON error on stderr, nothing on stdout; return the message."""
    assert done.returncode == code, (done.stdout, done.stderr)
    assert done.stdout == ""
    body = json.loads(done.stderr)
    assert body["error"]["type"] == kind
    return str(body["error"]["message"])


def test_system_and_project_commands(project: Path, db_path: Path) -> None:
    """health, status, info, scan and context print the engine's JSON."""
    assert ok(project, db_path, "health") == {"status": "ok", "version": "0.1.0"}
    assert ok(project, db_path, "status")["project_root"] == str(project)
    assert ok(project, db_path, "info")["name"] == "proj"
    scan = ok(project, db_path, "scan", "--include", "**/*.py", "--exclude", "broken.py")
    assert (scan["files_scanned"], scan["errors"]) == (3, [])
    assert ok(project, db_path, "status")["last_scan"]["scan_id"] == scan["scan_id"]
    context = ok(
        project,
        db_path,
        "context",
        "FOCUSED",
        "--query",
        "user",
        "--include-file",
        "broken.py",
        "--max-tokens",
        "5000",
    )
    assert context["context_data"]["include_files"] == ["broken.py"]
    assert context["file_count"] == 1  # broken.py was excluded from the last scan
    assert context["max_tokens"] == 5000


def test_scan_progress_is_json_lines(project: Path, db_path: Path) -> None:
    """--progress prints scan_started, one scan_progress per file, then scan_completed."""
    done = cli(project, db_path, "scan", "--paths", "app", "--progress")
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert [e["type"] for e in events] == ["scan_started"] + ["scan_progress"] * 3 + [
        "scan_completed"
    ]
    assert events[-1]["data"]["files_scanned"] == 3


def test_task_commands(project: Path, db_path: Path) -> None:
    """create, list, get, update and delete round-trip through separate processes."""
    task = ok(
        project,
        db_path,
        "tasks",
        "create",
        "--json",
        json.dumps({"title": "Ship it", "tags": ["rel"]}),
    )
    listed = ok(project, db_path, "tasks", "list", "--tag", "rel", "--q", "SHIP", "--limit", "5")
    assert [t["id"] for t in listed["items"]] == [task["id"]]
    assert (listed["total"], listed["limit"], listed["offset"]) == (1, 5, 0)
    assert ok(project, db_path, "tasks", "get", task["id"]) == task
    updated = ok(project, db_path, "tasks", "update", task["id"], "--json", '{"status": "done"}')
    assert updated["status"] == "done"
    assert ok(project, db_path, "tasks", "delete", task["id"]) == {"deleted": task["id"]}
    assert (
        error(cli(project, db_path, "tasks", "get", task["id"]), 3, "not_found") == "Task not found"
    )


def test_exit_codes_for_bad_input(project: Path, db_path: Path) -> None:
    """Bad input exits 2 with a JSON error; a path outside the root says so."""
    message = error(cli(project, db_path, "scan", "--paths", "../.."), 2, "path_outside_root")
    assert message == "Path is outside the project root: ../.."
    assert "mode" in error(cli(project, db_path, "context", "full"), 2, "invalid_input")
    assert "JSON" in error(
        cli(project, db_path, "tasks", "create", "--json", "{nope"), 2, "invalid_input"
    )
    error(cli(project, db_path, "tasks", "create", "--json", '{"title": ""}'), 2, "invalid_input")
    error(cli(project, db_path, "context", "FULL", "--max-tokens", "lots"), 2, "invalid_input")
    error(cli(project, db_path, "frobnicate"), 2, "invalid_input")


def test_bad_settings_exit_1(project: Path, tmp_path: Path) -> None:
    """An invalid LLMSTRUCT_PROJECT_ROOT is an internal failure that names the variable."""
    done = cli(tmp_path / "missing", tmp_path / "x.db", "status")
    assert error(done, 1, "internal").startswith("LLMSTRUCT_PROJECT_ROOT: ")


def test_main_in_process(
    project: Path,
    db_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """main(argv) returns the exit code and prints compact JSON."""
    monkeypatch.setenv("LLMSTRUCT_PROJECT_ROOT", str(project))
    monkeypatch.setenv("LLMSTRUCT_DATABASE", str(db_path))
    assert main(["tasks", "get", "nope"]) == 3
    assert main(["tasks", "list"]) == 0
    out, err = capsys.readouterr()
    assert out == '{"items":[],"total":0,"limit":50,"offset":0}\n'
    assert json.loads(err) == {"error": {"type": "not_found", "message": "Task not found"}}


def test_concurrent_processes_on_a_fresh_database(project: Path, db_path: Path) -> None:
    """Parallel CLI processes creating the database and writing all succeed, nothing lost."""
    env = {**os.environ, "LLMSTRUCT_PROJECT_ROOT": str(project), "LLMSTRUCT_DATABASE": str(db_path)}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "engine.cli",
                "tasks",
                "create",
                "--json",
                json.dumps({"title": f"t{n}"}),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=REPO,
        )
        for n in range(6)
    ]
    for proc in procs:
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    assert ok(project, db_path, "tasks", "list")["total"] == 6


def test_option_equals_forms_and_double_dash(project: Path, db_path: Path) -> None:
    """`--opt=value` (even `-`-leading), a bare `--include` (no filter) and `-- ID` all work."""
    scan = ok(project, db_path, "scan", "--paths=app", "--paths=broken.py", "--include")
    assert scan["files_scanned"] == 4
    everything = ok(project, db_path, "scan", "--include", "--exclude=*.yaml")
    assert everything["files_scanned"] == 5  # 4 .py files and README.md
    context = ok(project, db_path, "context", "FOCUSED", "--query=-user", "--max-tokens=9000")
    assert context["context_data"]["query"] == "-user"
    task = ok(project, db_path, "tasks", "create", "--json", '{"title": "-dash"}')
    assert ok(project, db_path, "tasks", "get", "--", task["id"])["title"] == "-dash"
    changed = ok(
        project, db_path, "tasks", "update", "--json", '{"priority": "low"}', "--", task["id"]
    )
    assert changed["priority"] == "low"
    listed = ok(project, db_path, "tasks", "list", "--q=-DASH", "--priority=low", "--offset=0")
    assert listed["total"] == 1


def test_python_dash_m_engine_runs_the_cli(project: Path, db_path: Path) -> None:
    """`python -m engine` is the same CLI as `python -m engine.cli`."""
    env = {**os.environ, "LLMSTRUCT_PROJECT_ROOT": str(project), "LLMSTRUCT_DATABASE": str(db_path)}
    done = subprocess.run(
        [sys.executable, "-m", "engine", "tasks", "get", "x"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert done.returncode == 3
    assert json.loads(done.stderr)["error"]["type"] == "not_found"


def cli_stdin(project: Path, db: Path, stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    """Run ``python -m engine.cli --args-from-stdin`` with ``stdin`` as its input."""
    env = {**os.environ, "LLMSTRUCT_PROJECT_ROOT": str(project), "LLMSTRUCT_DATABASE": str(db)}
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", "--args-from-stdin"],
        input=stdin,
        capture_output=True,
        env=env,
        cwd=REPO,
        timeout=60,
        check=False,
    )


def test_arguments_from_stdin_carry_nul(project: Path, db_path: Path) -> None:
    """--args-from-stdin takes the argument list as JSON, so a value holding NUL arrives whole."""
    done = cli_stdin(project, db_path, json.dumps(["scan", "--paths=a\x00b"]).encode())
    assert done.returncode == 2, done.stderr
    assert json.loads(done.stderr)["error"]["message"] == "Invalid path: 'a\\x00b'"
    listed = cli_stdin(project, db_path, json.dumps(["tasks", "list", "--q=\x00"]).encode())
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["total"] == 0


@pytest.mark.parametrize("stdin", [b"", b"not json", b'{"a": 1}', b'["tasks", 1]'])
def test_arguments_from_stdin_must_be_a_string_array(
    project: Path, db_path: Path, stdin: bytes
) -> None:
    """Anything but a JSON array of strings on stdin is a usage error (exit 2), no traceback."""
    done = cli_stdin(project, db_path, stdin)
    assert done.returncode == 2, done.stderr
    assert json.loads(done.stderr)["error"]["type"] == "invalid_input"
