"""Where migration state survives a restart: the :class:`StateStore` protocol and its SQLite home.

One gateway keeps its state in an embedded SQLite file (WAL, so readers such as the operator CLI do
not block the controller). Each transition is one :meth:`StateStore.commit`: the new state, the
events it produced and the evaluation snapshot are written in a single transaction, so a gateway
killed at any instant restarts from a consistent state — never a weight without its event, never an
event without its state. Snapshots are a bounded ring per route (``max_snapshots``), events are
pruned beyond ``max_events`` per route; both bounds keep the file from growing without limit.

The store is synchronous: each commit is a few small rows, well under a millisecond on a local disk
with ``synchronous=NORMAL`` (durable across a process crash; an OS crash may lose the last commit,
which the controller then redoes from fresh windows).

Failure (issue #12, item 2): the controller runs on the gateway's event loop, so a commit must never
wait long for a lock: the busy timeout is :data:`BUSY_TIMEOUT_S` (a locked file fails fast and the
controller retries on its next tick, with the safe weight already applied). A file that cannot be
opened, read or written at start-up raises :class:`StateStoreError` with one line naming the file,
which the commands turn into exit code 2 instead of a sqlite3 traceback.

Manual weights (item 4) of routes without a migration live in ``route_weight``; a route with a
migration keeps its weight in its state, the one truth the controller re-applies.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from migration.state import Event, MigrationState, Snapshot

__all__ = ["BUSY_TIMEOUT_S", "SQLiteStore", "StateStore", "StateStoreError"]

#: How long a commit waits for another connection's write lock before failing (and being retried).
BUSY_TIMEOUT_S = 0.05


class StateStoreError(Exception):
    """The state file cannot be opened, read or written at start-up (the message is one line)."""


class StateStore(Protocol):
    """Persistence for the controller; every method is atomic."""

    def load(self, route: str) -> MigrationState | None: ...

    def load_all(self) -> list[MigrationState]: ...

    def commit(
        self,
        state: MigrationState,
        events: Sequence[Event] = (),
        snapshot: Snapshot | None = None,
    ) -> None: ...

    def events(self, route: str | None = None, limit: int = 100) -> list[Event]: ...

    def snapshots(self, route: str, limit: int = 1000) -> list[Snapshot]: ...

    def save_weight(self, route: str, weight_bps: int, events: Sequence[Event] = ()) -> None: ...

    def load_weights(self) -> dict[str, int]: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS migration_state (
    route TEXT PRIMARY KEY,
    phase TEXT NOT NULL,
    step_index INTEGER NOT NULL,
    weight_bps INTEGER NOT NULL,
    state_json TEXT NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS migration_event (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    route TEXT NOT NULL,
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    event_json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS migration_event_route ON migration_event (route, id);
CREATE TABLE IF NOT EXISTS migration_snapshot (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    route TEXT NOT NULL,
    at REAL NOT NULL,
    snapshot_json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS migration_snapshot_route ON migration_snapshot (route, id);
CREATE TABLE IF NOT EXISTS route_weight (
    route TEXT PRIMARY KEY,
    weight_bps INTEGER NOT NULL
);
"""


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class SQLiteStore:
    """:class:`StateStore` in one SQLite file (``":memory:"`` works too, for one process)."""

    def __init__(
        self, path: str | Path, *, max_snapshots: int = 2000, max_events: int = 10_000
    ) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.max_snapshots = max_snapshots
        self.max_events = max_events
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise StateStoreError(f"state store {self.path}: {_one_line(exc)}") from None
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            # Read every row once: a file SQLite opens but whose rows we cannot parse is as
            # unusable as a corrupt one, and is better refused now than at the first step().
            self.load_all()
            self.load_weights()
        except (sqlite3.Error, ValueError, KeyError, TypeError) as exc:
            self._db.close()
            raise StateStoreError(f"state store {self.path}: {_one_line(exc)}") from None

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()

    def load(self, route: str) -> MigrationState | None:
        """The stored state of ``route``, if any."""
        with self._lock:
            row = self._db.execute(
                "SELECT state_json FROM migration_state WHERE route = ?", (route,)
            ).fetchone()
        return None if row is None else MigrationState.from_dict(json.loads(row[0]))

    def load_all(self) -> list[MigrationState]:
        """Every stored route's state, by route name."""
        with self._lock:
            rows = self._db.execute(
                "SELECT state_json FROM migration_state ORDER BY route"
            ).fetchall()
        return [MigrationState.from_dict(json.loads(r[0])) for r in rows]

    def commit(
        self,
        state: MigrationState,
        events: Sequence[Event] = (),
        snapshot: Snapshot | None = None,
    ) -> None:
        """Write ``state``, its ``events`` and ``snapshot`` in one transaction."""
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute(
                    "INSERT INTO migration_state (route, phase, step_index, weight_bps, state_json,"
                    " updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(route) DO UPDATE SET"
                    " phase=excluded.phase, step_index=excluded.step_index,"
                    " weight_bps=excluded.weight_bps, state_json=excluded.state_json,"
                    " updated_at=excluded.updated_at",
                    (
                        state.route,
                        state.phase.value,
                        state.step_index,
                        state.weight_bps,
                        json.dumps(state.to_dict()),
                        state.updated_at,
                    ),
                )
                for event in events:
                    db.execute(
                        "INSERT INTO migration_event (route, at, kind, event_json)"
                        " VALUES (?, ?, ?, ?)",
                        (event.route, event.at, event.kind, json.dumps(event.to_dict())),
                    )
                if events:
                    self._prune(db, "migration_event", state.route, self.max_events)
                if snapshot is not None:
                    db.execute(
                        "INSERT INTO migration_snapshot (route, at, snapshot_json) VALUES (?, ?, ?)",
                        (snapshot.route, snapshot.at, json.dumps(snapshot.to_dict())),
                    )
                    self._prune(db, "migration_snapshot", state.route, self.max_snapshots)
            except BaseException:
                if db.in_transaction:  # an I/O error may already have rolled it back
                    db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def save_weight(self, route: str, weight_bps: int, events: Sequence[Event] = ()) -> None:
        """Store the manual weight of a route without a migration, with its events, atomically."""
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute(
                    "INSERT INTO route_weight (route, weight_bps) VALUES (?, ?)"
                    " ON CONFLICT(route) DO UPDATE SET weight_bps=excluded.weight_bps",
                    (route, weight_bps),
                )
                for event in events:
                    db.execute(
                        "INSERT INTO migration_event (route, at, kind, event_json)"
                        " VALUES (?, ?, ?, ?)",
                        (event.route, event.at, event.kind, json.dumps(event.to_dict())),
                    )
                if events:
                    self._prune(db, "migration_event", route, self.max_events)
            except BaseException:
                if db.in_transaction:  # an I/O error may already have rolled it back
                    db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def load_weights(self) -> dict[str, int]:
        """Manual weights of routes without a migration (a migration's state carries its own)."""
        with self._lock:
            rows = self._db.execute("SELECT route, weight_bps FROM route_weight").fetchall()
        return {str(route): int(bps) for route, bps in rows}

    @staticmethod
    def _prune(db: sqlite3.Connection, table: str, route: str, keep: int) -> None:
        db.execute(
            f"DELETE FROM {table} WHERE route = ? AND id <= "  # table is one of two constants
            f"(SELECT id FROM {table} WHERE route = ? ORDER BY id DESC LIMIT 1 OFFSET ?)",
            (route, route, keep),
        )

    def events(self, route: str | None = None, limit: int = 100) -> list[Event]:
        """The latest ``limit`` events (of ``route``, or of all routes), oldest first."""
        with self._lock:
            if route is None:
                rows = self._db.execute(
                    "SELECT event_json FROM migration_event ORDER BY id DESC LIMIT ?", (limit,)
                ).fetchall()
            else:
                rows = self._db.execute(
                    "SELECT event_json FROM migration_event WHERE route = ?"
                    " ORDER BY id DESC LIMIT ?",
                    (route, limit),
                ).fetchall()
        return [Event.from_dict(json.loads(r[0])) for r in reversed(rows)]

    def snapshots(self, route: str, limit: int = 1000) -> list[Snapshot]:
        """The latest ``limit`` snapshots of ``route``, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT snapshot_json FROM migration_snapshot WHERE route = ?"
                " ORDER BY id DESC LIMIT ?",
                (route, limit),
            ).fetchall()
        return [Snapshot.from_dict(json.loads(r[0])) for r in reversed(rows)]
