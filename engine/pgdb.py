"""The engine's store on PostgreSQL (issue #13, item 8): ``LLMSTRUCT_DATABASE=postgresql://…``.

Same tables and statements as the SQLite file (``engine.db``), so the two llmstruct backends and the
``llmstruct`` CLI can run on different hosts over one database. The URL handling is the migration
store's (``migration.store_postgres``): a password left out of the URL comes from ``PGPASSWORD`` or
``~/.pgpass``, and the URL is only ever shown redacted (``***``), in errors as in logs.

What differs from SQLite, and why it is done here rather than in the callers:

- ``?`` placeholders become ``%s``; SQLite's ``json_each`` / ``contains_ci`` are not there, so
  :mod:`engine.tasks` asks :attr:`PostgresDatabase.dialect` for its two filter fragments.
- Every write transaction starts by bumping the one row of ``data_version``. That row lock
  serialises writers exactly like SQLite's ``BEGIN IMMEDIATE`` (an update's read-check-write stays
  atomic under READ COMMITTED), and its counter replaces ``PRAGMA data_version`` for the
  candidate's never-stale read caches (``custom_backend.cache``): any process's commit changes it.
- A read snapshot is ``REPEATABLE READ READ ONLY``: several queries see one state (WAL's snapshot).
- PostgreSQL's ``text`` cannot hold NUL (U+0000): such text is refused as invalid input
  (``engine.tasks``), and a search for it matches nothing, since nothing stored contains it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import psycopg
from psycopg import conninfo as pg_conninfo

from engine.errors import EngineError
from migration.store_postgres import _password, _scrub, connection_params, redact_url
from migration.store_sql import StateStoreError, one_line

SCHEMA_VERSION = 1
DIALECT = "postgresql"
# Server-side limits: SQLite's busy timeout (10 s) for locks, a generous bound for one statement.
_SESSION = "-c lock_timeout=10000 -c statement_timeout=30000"
_SCHEMA_LOCK = 0x6C6C6D73  # "llms": one advisory lock so concurrent first starts create tables once

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS tasks ("
    ' id TEXT COLLATE "C" PRIMARY KEY, title TEXT NOT NULL, description TEXT NOT NULL,'
    " status TEXT NOT NULL, priority TEXT NOT NULL, tags TEXT NOT NULL, estimated_effort TEXT,"
    " created_us BIGINT NOT NULL, updated_us BIGINT NOT NULL,"
    " title_cf TEXT NOT NULL, description_cf TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS tasks_order ON tasks (created_us DESC, id)",
    "CREATE TABLE IF NOT EXISTS file_cache ("
    " key TEXT PRIMARY KEY, result TEXT NOT NULL, used_us BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS last_scan (slot INTEGER PRIMARY KEY CHECK (slot = 1),"
    " scan_id TEXT NOT NULL, finished_us BIGINT NOT NULL, response TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS last_scan_files (path TEXT PRIMARY KEY, cache_key TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS data_version ("
    " slot INTEGER PRIMARY KEY CHECK (slot = 1), n BIGINT NOT NULL,"
    " schema_version INTEGER NOT NULL)",
)


def is_postgres_url(value: str) -> bool:
    """True for a ``postgresql://`` / ``postgres://`` URL (checked without importing the driver)."""
    return value.strip().lower().startswith(("postgresql://", "postgres://"))


def engine_params(url: str) -> dict[str, Any]:
    """libpq parameters for ``url``; ``ValueError`` (one line, URL redacted) if malformed."""
    try:
        params = connection_params(url)  # the migration store's checks and timeouts
        given = pg_conninfo.conninfo_to_dict(url)
    except StateStoreError as exc:
        raise ValueError(str(exc)) from None
    except psycopg.Error as exc:
        reason = _scrub(one_line(exc), _password(url))
        raise ValueError(f"not a valid PostgreSQL URL ({redact_url(url)}): {reason}") from None
    params["application_name"] = given.get("application_name", "llmstruct")
    # Ours after the migration store's defaults, the URL's own options last (they win).
    params["options"] = f"{_SESSION} {given.get('options') or ''}".strip()
    return params


class _Conn:
    """The slice of ``sqlite3.Connection`` the engine uses, over a psycopg connection."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        return self._conn.execute(sql.replace("?", "%s"), tuple(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            with self._conn.cursor() as cur:
                cur.executemany(sql.replace("?", "%s"), [tuple(row) for row in rows])


class PostgresDatabase:
    """A lock-guarded psycopg connection with the engine's schema (``engine.db.Database``'s API)."""

    dialect = DIALECT

    def __init__(self, url: str) -> None:
        self.location = redact_url(url)
        self._secret = _password(url)
        try:
            self._params = engine_params(url)
        except ValueError as exc:
            raise EngineError(str(exc)) from None
        self._lock = threading.RLock()
        self._conn: psycopg.Connection[Any] | None = None
        try:
            found = self._schema_version()
            if found is None:
                found = self._create_schema()
        except EngineError as exc:
            self.close()
            raise EngineError(f"Cannot open the database {self.location}: {exc.message}") from None
        if found > SCHEMA_VERSION:
            self.close()
            raise EngineError(
                f"Cannot open the database {self.location}: schema version {found} is newer than"
                f" this llmstruct's ({SCHEMA_VERSION}); upgrade it"
            )

    def _schema_version(self) -> int | None:
        """The stored schema version, or None before the schema exists.

        Checked first so that a start on an existing database (the CLI's, paid on every baseline
        request) runs two reads and no DDL.
        """
        if not self.query("SELECT to_regclass('data_version') IS NOT NULL")[0][0]:
            return None
        found = self.query("SELECT schema_version FROM data_version WHERE slot = 1")
        return int(found[0][0]) if found else None

    def _create_schema(self) -> int:
        """Create the tables once, whoever starts first (an advisory lock orders the starts)."""
        with self.transaction(bump=False) as conn:
            conn.execute(f"SELECT pg_advisory_xact_lock({_SCHEMA_LOCK})")
            for statement in SCHEMA:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO data_version (slot, n, schema_version) VALUES (1, 0, ?)"
                " ON CONFLICT (slot) DO NOTHING",
                (SCHEMA_VERSION,),
            )
            (found,) = conn.execute("SELECT schema_version FROM data_version").fetchone()
        return int(found)

    def _error(self, exc: BaseException) -> EngineError:
        if isinstance(exc, psycopg.OperationalError):
            self._drop()  # broken or half-known: reconnect on the next call
        return EngineError(f"Database error: {_scrub(one_line(exc), self._secret)}")

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(**self._params, autocommit=True)
        return self._conn

    def _first(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        """Run the first statement of a call, once more on a new connection if the kept one is dead.

        A server restarted or failed over since the last call leaves a connection that
        fails on first use; nothing ran on it yet, so running the statement again is safe
        (what a pool's pre-ping does).
        """
        fresh = self._conn is None or self._conn.closed
        try:
            return self._connection().execute(sql, params)
        except psycopg.OperationalError:
            if fresh or self._conn is None or not self._conn.broken:  # a timeout is not retried
                raise
            self._drop()
            return self._connection().execute(sql, params)

    def _drop(self) -> None:
        if self._conn is not None:
            with suppress(Exception):
                self._conn.close()
            self._conn = None

    @contextmanager
    def _block(self, begin: str, bump: bool) -> Iterator[_Conn]:
        with self._lock:
            try:
                raw = self._first(begin).connection
                if bump:  # first: its row lock serialises writers as BEGIN IMMEDIATE does
                    raw.execute("UPDATE data_version SET n = n + 1 WHERE slot = 1")
            except psycopg.Error as exc:
                self._rollback()
                raise self._error(exc) from None
            try:
                yield _Conn(raw)
            except psycopg.Error as exc:
                self._rollback()
                raise self._error(exc) from None
            except BaseException:
                self._rollback()
                raise
            try:
                raw.execute("COMMIT")
            except psycopg.Error as exc:
                self._rollback()
                raise self._error(exc) from None

    def _rollback(self) -> None:
        if self._conn is not None and not self._conn.closed:
            try:
                self._conn.execute("ROLLBACK")
            except psycopg.Error:
                self._drop()

    def transaction(self, bump: bool = True) -> Any:
        """A write transaction bumping ``data_version``; committed on success, else rolled back."""
        return self._block("BEGIN", bump)

    def snapshot(self) -> Any:
        """A read transaction: several queries see one consistent state even while others write."""
        return self._block("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", False)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one read statement and return every row."""
        with self._lock:
            try:
                rows: list[tuple[Any, ...]] = self._first(
                    sql.replace("?", "%s"), tuple(params)
                ).fetchall()
                return rows
            except psycopg.Error as exc:
                raise self._error(exc) from None

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            self._drop()


class PostgresDataVersion:
    """``data_version``'s counter on a private connection: the cache's validity token on PostgreSQL.

    It runs on the candidate's event loop, so it never waits to reconnect more than once a second:
    in between it answers None (the caller then asks the engine, in a thread, like any cache miss).
    """

    RETRY_S = 1.0

    def __init__(self, url: str, clock: Any = None) -> None:
        import time

        self._params = engine_params(url)
        self._clock = clock or time.monotonic
        self._conn: psycopg.Connection[Any] | None = None
        self._next_try = 0.0

    def current(self) -> int | None:
        """The counter, or None when the database cannot answer now."""
        try:
            if self._conn is None:
                if self._clock() < self._next_try:
                    return None
                self._next_try = self._clock() + self.RETRY_S
                self._conn = psycopg.connect(**self._params, autocommit=True)
            row = self._conn.execute("SELECT n FROM data_version").fetchone()
            return None if row is None else int(row[0])
        except psycopg.Error:
            self.close()
            return None

    def close(self) -> None:
        """Close the private connection."""
        if self._conn is not None:
            with suppress(Exception):
                self._conn.close()
            self._conn = None
