"""Project info and status."""

from __future__ import annotations

from pathlib import Path

from engine.config import EngineConfig
from engine.facade import Engine
from tests.engine.conftest import write


def test_info_from_pyproject(project: Path, db_path: Path) -> None:
    """Name, version and description come from [project]; the census skips default excludes."""
    write(
        project,
        "pyproject.toml",
        '[project]\nname = "demo"\nversion = "1.2.3"\ndescription = "A demo"\n',
    )
    (project / "logo.bin").write_bytes(b"\x00\x01\x02\n\n")
    eng = Engine(EngineConfig(project, db_path))
    try:
        info = eng.project_info()
        assert info == {
            "name": "demo",
            "version": "1.2.3",
            "description": "A demo",
            "root": str(project),
            "file_count": 8,
            "total_lines": info["total_lines"],
            "languages": {"Python": 4, "Markdown": 1, "TOML": 1, "YAML": 1},
            "last_scan": None,
        }
        assert info["total_lines"] == sum(
            p.read_text().count("\n")
            for p in project.rglob("*")
            if p.is_file()
            and p.suffix in {".py", ".md", ".yaml", ".toml"}
            and "/." not in str(p)
            and "node_modules" not in str(p)
            and "__pycache__" not in str(p)
            and "egg-info" not in str(p)
        )
        scan = eng.scan()
        assert eng.project_info()["last_scan"] == scan["finished_at"]
    finally:
        eng.close()


def test_info_without_pyproject(engine: Engine, project: Path) -> None:
    """No pyproject.toml: the directory name and nulls."""
    info = engine.project_info()
    assert (info["name"], info["version"], info["description"]) == ("proj", None, None)


def test_info_with_broken_pyproject(engine: Engine, project: Path) -> None:
    """An invalid pyproject.toml is treated as missing, not as an error."""
    write(project, "pyproject.toml", "[project\nname=")
    assert engine.project_info()["name"] == "proj"


def test_health_and_status(engine: Engine, project: Path) -> None:
    """health is constant; status names the root and counts tasks per status."""
    assert engine.health() == {"status": "ok", "version": "0.1.0"}
    engine.create_task({"title": "a"})
    assert engine.status() == {
        "status": "ok",
        "version": "0.1.0",
        "project_root": str(project),
        "last_scan": None,
        "task_counts": {"open": 1, "in_progress": 0, "done": 0, "cancelled": 0},
    }


def test_database_inside_root_is_not_counted(project: Path) -> None:
    """A database configured inside the project is left out of the census and of scans."""
    eng = Engine(EngineConfig(project, project / "data" / "state.db"))
    try:
        eng.create_task({"title": "write something to the WAL"})
        before = eng.project_info()
        assert before["file_count"] == 6
        assert eng.scan(include_patterns=["**/*"])["files_scanned"] == 6
    finally:
        eng.close()
