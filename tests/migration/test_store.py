"""What is SQLite's own in SQLiteStore: WAL, the busy timeout, a corrupt file at open.

What every store promises (round trips, bounds, atomicity, schema versions) is in
``test_store_contract.py``, run against SQLite, PostgreSQL and the in-memory fake.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from migration.plan import Plan, Step
from migration.state import Event, MigrationState, Phase
from migration.store import SQLiteStore, StateStoreError

PLAN = Plan("api", (Step(0), Step(1000, 30.0, 50, gate=True), Step(10_000)))


def state(**changes: object) -> MigrationState:
    base = MigrationState(
        "api", PLAN, Phase.RUNNING, 1, 1000, 100.0, 2.5, 101.0, 42, 1, "hold", 110.0
    )
    return base.with_(**changes)


def event(kind: str, at: float = 1.0) -> Event:
    return Event("api", at, kind, Phase.RUNNING, 1, 1000, ("why",), {"latency_p95": {"p": 0.5}})


def test_sqlite_uses_wal_and_survives_reopen(tmp_path: Path) -> None:
    """The file is in WAL mode and a second connection sees committed state."""
    path = tmp_path / "nested" / "m.db"
    first = SQLiteStore(path)
    first.commit(state(phase=Phase.AWAITING_GATE), [event("awaiting_gate")])
    first.close()
    second = SQLiteStore(path)
    loaded = second.load("api")
    assert loaded is not None
    assert loaded.phase is Phase.AWAITING_GATE
    assert loaded.plan.steps[1].gate
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    second.close()


def test_sqlite_commit_is_all_or_nothing(tmp_path: Path) -> None:
    """If any part of a commit fails, neither the state nor its events are written."""
    store = SQLiteStore(tmp_path / "m.db")
    store.commit(state(step_requests=1))
    bad = Event("api", 1.0, "x", Phase.RUNNING, 0, 0, (), {"not json": object()})
    with pytest.raises(TypeError):
        store.commit(state(step_requests=2), [bad])
    loaded = store.load("api")
    assert loaded is not None
    assert loaded.step_requests == 1
    assert store.events("api") == []
    store.close()


def test_a_corrupt_file_is_refused_in_one_line_naming_it(tmp_path: Path) -> None:
    """Garbage where the database should be: StateStoreError naming the file, no sqlite3 error."""
    path = tmp_path / "migration.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StateStoreError) as caught:
        SQLiteStore(path)
    message = str(caught.value)
    assert message == f"state store {path}: file is not a database"
    assert "\n" not in message
    assert caught.value.__cause__ is None


def test_an_unparseable_row_is_refused_at_open(tmp_path: Path) -> None:
    """A row SQLite reads but we cannot parse stops the open, not the first controller step."""
    path = tmp_path / "migration.db"
    SQLiteStore(path).close()
    db = sqlite3.connect(path)
    db.execute("INSERT INTO migration_state VALUES ('api', 'running', 0, 0, '{\"x\": 1}', 0)")
    db.commit()
    db.close()
    with pytest.raises(StateStoreError, match=r"migration\.db: "):
        SQLiteStore(path)


def test_a_locked_file_fails_fast(tmp_path: Path) -> None:
    """Another connection's write lock fails a commit within the short busy timeout."""
    path = tmp_path / "m.db"
    store = SQLiteStore(path)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    state = MigrationState("api", Plan("api", (Step(1000),)), Phase.RUNNING, 0, 1000, 0.0)
    started = time.monotonic()
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        store.commit(state)
    assert time.monotonic() - started < 1.0
    other.execute("ROLLBACK")
    store.commit(state)
    assert store.load("api") == state
    other.close()
    store.close()
