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

The statements, the schema and its version are shared with the PostgreSQL store (issue
#13) in :mod:`migration.store_sql`; this module keeps the protocol and what is SQLite's
own (the file, WAL, the busy timeout, ``BEGIN IMMEDIATE``). :func:`open_store` picks the
store from ``migration.state_db``.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

from migration.cluster.store import ClusterSqlStore
from migration.state import Event, MigrationState, SavedEvidence, Snapshot
from migration.store_sql import SQLITE, Execute, StateStoreError, one_line

__all__ = ["BUSY_TIMEOUT_S", "SQLiteStore", "StateStore", "StateStoreError", "open_store"]

T = TypeVar("T")

#: How long a commit waits for another connection's write lock before failing (and being retried).
BUSY_TIMEOUT_S = 0.05


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

    def save_evidence(self, saved: SavedEvidence) -> None: ...

    def load_evidence(self, route: str) -> SavedEvidence | None: ...


class ClosableStore(StateStore, Protocol):
    """A store the runtime owns and closes at shutdown."""

    def close(self) -> None: ...


def open_store(state_db: Path | str, *, lazy: bool = False) -> ClosableStore:
    """The store ``migration.state_db`` names: a PostgreSQL URL, else an SQLite file path.

    ``lazy`` (PostgreSQL): a server that does not answer yet is checked on its first answer.
    """
    if isinstance(state_db, str):
        from migration.store_postgres import PostgresStore  # psycopg only when asked for

        return PostgresStore(state_db, lazy=lazy)
    return SQLiteStore(state_db)


class SQLiteStore(ClusterSqlStore):
    """:class:`StateStore` in one SQLite file (``":memory:"`` works too, for one process)."""

    dialect = SQLITE

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
            raise StateStoreError(f"state store {self.path}: {one_line(exc)}") from None
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._open_schema(self.path)
        except StateStoreError:
            self._db.close()
            raise
        except sqlite3.Error as exc:
            self._db.close()
            raise StateStoreError(f"state store {self.path}: {one_line(exc)}") from None

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()

    def _transaction(self, work: Callable[[Execute], T]) -> T:
        def execute(sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
            return db.execute(sql, params).fetchall()

        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")  # the write lock now, or BUSY_TIMEOUT_S and an error
            try:
                result = work(execute)
            except BaseException:
                if db.in_transaction:  # an I/O error may already have rolled it back
                    db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            return result

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(self.dialect.sql(sql), params).fetchall()
