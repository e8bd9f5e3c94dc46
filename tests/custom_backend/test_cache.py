"""The exact caches: a token that moves whenever what an answer depends on changes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from custom_backend.cache import DataVersion, ResponseCache, TreeSignature, file_stamp
from custom_backend.responses import Response


def test_data_version_moves_on_other_connections_commits(tmp_path: Path) -> None:
    """Any commit by another connection changes the version; reads do not."""
    database = tmp_path / "x.db"
    writer = sqlite3.connect(database, isolation_level=None)
    writer.execute("CREATE TABLE t (v INTEGER)")
    version = DataVersion(database)
    try:
        first = version.current()
        writer.execute("SELECT * FROM t").fetchall()
        assert version.current() == first
        writer.execute("INSERT INTO t VALUES (1)")
        assert version.current() != first
    finally:
        version.close()
        writer.close()


def test_tree_signature_sees_adds_edits_and_removals_but_not_excluded_dirs(tmp_path: Path) -> None:
    """Adding, resizing, removing a counted file changes the signature; .venv/.git do not."""
    (tmp_path / "a.py").write_text("a\n")
    (tmp_path / ".venv").mkdir()
    tree = TreeSignature(tmp_path)
    start = tree.current()
    (tmp_path / ".venv" / "noise.py").write_text("x")
    assert tree.current() == start
    (tmp_path / "b.py").write_text("b\n")
    added = tree.current()
    assert added != start
    (tmp_path / "b.py").write_text("bb\n")
    assert tree.current() != added
    (tmp_path / "b.py").unlink()
    assert tree.current() == start


def test_response_cache_drops_everything_when_the_token_moves() -> None:
    """A hit needs the same token; a stale put (computed under an old token) is ignored."""
    cache = ResponseCache(max_entries=2)
    assert cache.get(1, "a") is None
    cache.put(1, "a", Response(200, b"a"))
    assert cache.get(1, "a") == Response(200, b"a")
    assert cache.get(2, "a") is None
    cache.put(1, "a", Response(200, b"old"))
    assert cache.get(2, "a") is None
    cache.put(2, "b", Response(200, b"b"))
    cache.put(2, "c", Response(200, b"c"))
    cache.put(2, "d", Response(200, b"d"))  # full: cleared first
    assert cache.get(2, "b") is None
    assert cache.get(2, "d") == Response(200, b"d")


def test_file_stamp(tmp_path: Path) -> None:
    """A missing file has no stamp; a rewrite with other content gets another one."""
    path = tmp_path / "pyproject.toml"
    assert file_stamp(path) is None
    path.write_text("a")
    first = file_stamp(path)
    path.write_text("abc")
    assert file_stamp(path) != first


def test_data_version_never_waits_for_a_lock(tmp_path: Path) -> None:
    """While another connection holds an exclusive lock the version is None at once."""
    database = tmp_path / "x.db"
    writer = sqlite3.connect(database, isolation_level=None)
    writer.execute("CREATE TABLE t (v INTEGER)")
    version = DataVersion(database)
    try:
        before = version.current()
        writer.execute("BEGIN EXCLUSIVE")
        writer.execute("INSERT INTO t VALUES (1)")
        assert version.current() is None
        writer.execute("COMMIT")
        assert version.current() not in (None, before)
    finally:
        version.close()
        writer.close()
