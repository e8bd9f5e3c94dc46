"""Scans through the Engine: per-file errors, excludes, includes, the hash cache, confinement.

Every scan stores its analyses and "the last scan", so each test runs on both
stores (``either_store``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from engine.config import EngineConfig
from engine.errors import InvalidInput, PathOutsideRoot
from engine.facade import Engine
from tests.engine.conftest import write


@pytest.fixture
def db_path(either_store: Path | str) -> Path | str:
    """A SQLite file, then a PostgreSQL schema."""
    return either_store


ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$")


def test_scan_response_shape_and_syntax_error(engine: Engine) -> None:
    """The scan completes with the broken file in `errors` and the contract's keys in order."""
    result = engine.scan()
    assert list(result) == [
        "scan_id",
        "status",
        "files_scanned",
        "files_cached",
        "total_lines",
        "modules",
        "classes",
        "functions",
        "errors",
        "started_at",
        "finished_at",
        "duration_ms",
    ]
    assert result["status"] == "completed"
    assert result["files_scanned"] == 4  # app/__init__, app/billing, app/users, broken
    assert result["modules"] == 3
    assert result["classes"] == 1
    assert result["functions"] == 4  # parse_invoice, load_user, Invoice.total, Invoice.send
    assert result["errors"] == [
        {"path": "broken.py", "error": "SyntaxError: invalid syntax (line 1)"}
    ]
    assert re.fullmatch(r"[0-9a-f]{32}", result["scan_id"])
    assert ISO_Z.match(result["started_at"])
    assert ISO_Z.match(result["finished_at"])
    assert isinstance(result["duration_ms"], float)


def test_default_excludes_skip_venv_caches_and_egg_info(engine: Engine) -> None:
    """Files under .venv, node_modules, __pycache__ and *.egg-info are never scanned."""
    paths: list[str] = []
    engine.scan(on_progress=lambda ev: paths.append(ev["data"].get("path", "")))
    scanned = [p for p in paths if p]
    assert scanned == ["app/__init__.py", "app/billing.py", "app/users.py", "broken.py"]


def test_include_and_exclude_patterns(engine: Engine) -> None:
    """Include globs pick the files, exclude globs add to the default excludes."""
    only_app = engine.scan(include_patterns=["app/*.py"], exclude_patterns=["users.py"])
    assert only_app["files_scanned"] == 2
    everything = engine.scan(include_patterns=[])
    assert everything["files_scanned"] == 6  # the 4 .py files plus README.md and config.yaml
    assert everything["modules"] == 3


def test_paths_limit_the_scan(engine: Engine) -> None:
    """`paths` restricts the walk to the given files and directories."""
    result = engine.scan(paths=["app", "broken.py"])
    assert result["files_scanned"] == 4
    assert engine.scan(paths=["app/users.py"])["files_scanned"] == 1


def test_rescan_hits_the_cache_across_engines(project: Path, db_path: Path | str) -> None:
    """A second Engine (a new CLI process) reuses cached analyses; an edited file is redone."""
    config = EngineConfig(project_root=project, database=db_path)
    first = Engine(config)
    try:
        assert first.scan()["files_cached"] == 0
    finally:
        first.close()
    second = Engine(config)
    try:
        again = second.scan()
        assert again["files_cached"] == 4
        write(project, "app/users.py", "def load_user(uid: int) -> dict:\n    return {}\n")
        edited = second.scan()
        assert edited["files_cached"] == 3
        assert edited["functions"] == again["functions"]
    finally:
        second.close()


def test_identical_files_analysed_once_not_counted_as_cached(engine: Engine, project: Path) -> None:
    """Two files with the same bytes in a first scan are both fresh (files_cached: DB hits)."""
    write(project, "pkg/__init__.py", '"""The app."""\n')
    assert engine.scan()["files_cached"] == 0


def test_progress_events(engine: Engine) -> None:
    """on_progress gets scan_started with the total, then one scan_progress per file."""
    events: list[dict[str, Any]] = []
    engine.scan(on_progress=events.append)
    assert events[0] == {"type": "scan_started", "data": {"total": 4}}
    progress = events[1:]
    assert [e["data"]["current"] for e in progress] == [1, 2, 3, 4]
    assert all(e["type"] == "scan_progress" and e["data"]["total"] == 4 for e in progress)
    assert progress[-1]["data"] == {
        "current": 4,
        "total": 4,
        "path": "broken.py",
        "error": "SyntaxError: invalid syntax (line 1)",
    }
    assert progress[0]["data"]["error"] is None


@pytest.mark.parametrize("raw", ["/etc", "..", "app/../../outside"])
def test_scan_refuses_paths_outside_root(engine: Engine, raw: str) -> None:
    """Absolute and `..` paths raise PathOutsideRoot before anything is read."""
    with pytest.raises(
        PathOutsideRoot, match=re.escape(f"Path is outside the project root: {raw}")
    ):
        engine.scan(paths=[raw])


def test_scan_refuses_symlink_escape(engine: Engine, project: Path, tmp_path: Path) -> None:
    """A symlinked directory pointing out of the root cannot be scanned; walks skip it."""
    outside = tmp_path / "outside"
    write(outside, "secret.py", "TOKEN = 'x'\n")
    (project / "escape").symlink_to(outside, target_is_directory=True)
    (project / "leak.py").symlink_to(outside / "secret.py")
    with pytest.raises(PathOutsideRoot):
        engine.scan(paths=["escape"])
    with pytest.raises(PathOutsideRoot):
        engine.scan(paths=["leak.py"])
    assert engine.scan()["files_scanned"] == 4


def test_missing_path_and_bad_types_are_invalid_input(engine: Engine) -> None:
    """A path that does not exist and a non-list `paths` are refused as invalid input."""
    with pytest.raises(InvalidInput, match="Path not found: nope"):
        engine.scan(paths=["nope"])
    with pytest.raises(InvalidInput, match="paths"):
        engine.scan(paths="app")


def test_last_scan_feeds_status(engine: Engine) -> None:
    """After a scan, status shows its summary."""
    assert engine.status()["last_scan"] is None
    result = engine.scan()
    assert engine.status()["last_scan"] == {
        "scan_id": result["scan_id"],
        "finished_at": result["finished_at"],
        "files_scanned": 4,
        "total_lines": result["total_lines"],
        "errors": 1,
    }
