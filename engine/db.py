"""The one SQLite file both stacks and every CLI process share: WAL, busy timeout, schema, a lock.

WAL lets readers run beside a writer; ``busy_timeout`` makes concurrent CLI processes wait instead
of failing with "database is locked"; every write is its own committed transaction
(``synchronous=FULL``), so a crash loses nothing that was acknowledged. One connection per
``Database`` guarded by a lock keeps the engine thread-safe (callers use ``asyncio.to_thread``);
SQLite serialises writers anyway.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from engine.errors import EngineError

BUSY_TIMEOUT_MS = 10_000
SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    status TEXT NOT NULL,
    priority TEXT NOT NULL,
    tags TEXT NOT NULL,
    estimated_effort TEXT,
    created_us INTEGER NOT NULL,
    updated_us INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_order ON tasks (created_us DESC, id);
CREATE TABLE IF NOT EXISTS file_cache (
    key TEXT PRIMARY KEY,
    result TEXT NOT NULL,
    used_us INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS last_scan (
    slot INTEGER PRIMARY KEY CHECK (slot = 1),
    scan_id TEXT NOT NULL,
    finished_us INTEGER NOT NULL,
    response TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS last_scan_files (
    path TEXT PRIMARY KEY,
    cache_key TEXT NOT NULL
);
"""


def _contains_ci(haystack: str | None, needle: str | None) -> int:
    """Unicode-aware case-insensitive substring test (SQLite's ``lower`` is ASCII-only)."""
    if haystack is None or needle is None:
        return 0
    return int(needle.casefold() in haystack.casefold())


def _enable_wal(conn: sqlite3.Connection) -> None:
    """Switch the file to WAL, retrying while another process holds it.

    Switching needs an exclusive lock and SQLite reports "database is locked" at once,
    without calling the busy handler, when processes race to create a fresh file; so retry
    (briefly, with backoff) up to the busy timeout. Once the file is in WAL mode (it
    persists) the first query returns ``wal``.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    delay = 0.005
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)  # no event to wait on: another process holds a file lock
        delay = min(delay * 2, 0.2)


class Store(Protocol):
    """What the scanner and task store use: :class:`Database` or ``pgdb.PostgresDatabase``.

    The connection handed out by ``transaction``/``snapshot`` has sqlite3's ``execute`` (returning a
    cursor with ``fetchone``/``fetchall``/``rowcount``) and ``executemany``, with ``?``
    placeholders.
    """

    dialect: str
    location: str

    def transaction(self) -> Any: ...

    def snapshot(self) -> Any: ...

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def close(self) -> None: ...


class Database:
    """A lock-guarded SQLite connection with the engine's schema."""

    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.location = str(path)
        self._lock = threading.RLock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                str(path),
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
            self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            _enable_wal(self._conn)
            self._conn.execute("PRAGMA synchronous = FULL")
            self._conn.create_function("contains_ci", 2, _contains_ci, deterministic=True)
            if self._conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                self._conn.executescript(
                    f"BEGIN IMMEDIATE; {SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
                )
        except (sqlite3.Error, OSError) as exc:
            raise EngineError(f"Cannot open the database {path}: {exc}") from exc

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``), committed on success, rolled back on error."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise EngineError(f"Database error: {exc}") from exc
            try:
                yield self._conn
            except sqlite3.Error as exc:
                self._conn.execute("ROLLBACK")
                raise EngineError(f"Database error: {exc}") from exc
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            try:
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._conn.execute("ROLLBACK")
                raise EngineError(f"Database error: {exc}") from exc

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: several queries see one consistent state even while others write."""
        with self._lock:
            try:
                self._conn.execute("BEGIN")
                yield self._conn
            except sqlite3.Error as exc:
                raise EngineError(f"Database error: {exc}") from exc
            finally:
                if self._conn.in_transaction:
                    self._conn.execute("COMMIT")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one read statement and return every row."""
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise EngineError(f"Database error: {exc}") from exc

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            self._conn.close()


def open_database(location: Path | str) -> Store:
    """The store at ``location``: a SQLite file (a ``Path``) or a ``postgresql://`` URL (a ``str``).

    Both have the same methods (``transaction``, ``snapshot``, ``query``, ``close``) and a
    ``dialect``; the PostgreSQL driver is imported only when it is used (the CLI's start-up time on
    SQLite).
    """
    if isinstance(location, Path):
        return Database(location)
    from engine.pgdb import PostgresDatabase

    return PostgresDatabase(location)


def check_database(location: Path | str) -> None:
    """Open and close the store once: a backend's start-up check (unreachable, refused, unwritable).

    Raises ``EngineError`` with a one-line message; a URL in it has its password redacted.
    """
    open_database(location).close()
