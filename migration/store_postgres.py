"""The state store on PostgreSQL (issue #13, item 2): same schema and statements as SQLite's.

``migration.state_db: postgresql://user:password@host:5432/db`` (or ``postgres://``) selects
it. Whatever the URL leaves out, libpq takes from the standard ``PG*`` variables
(``PGPASSWORD``, ``PGHOST``, ``PGSSLMODE``...) or ``~/.pgpass``, so the password need not be in
the config at all. The URL is shown only through :func:`redact_url` (password replaced by
``***``), in errors, logs and ``GET /migration``.

Bounded calls. The controller calls the store synchronously on the gateway's event loop
(:meth:`~migration.controller.MigrationController.run`, and the admin API's reads), so a database
that stops answering must not stop the data plane. Server-side limits (``statement_timeout``,
``lock_timeout``) cannot help when the server itself is frozen (SIGSTOP, a VM paused, a partition
that drops packets without a reset), and TCP's own timers do not fire while the peer's kernel still
acknowledges. So every call runs on one worker thread and the caller waits at most
:data:`CALL_TIMEOUT_S`: past that it gets a :class:`~migration.store_sql.StateStoreError` (which
:class:`~migration.buffered_store.BufferedStore` turns into a buffered write, exactly as for a
locked SQLite file), and while the abandoned call is still stuck every later call fails at once
instead of waiting again — at most one short stall per outage, not one per tick. The abandoned
call's transaction is rolled back if it has not reached ``COMMIT``; its connection is dropped and
the next call reconnects (``connect_timeout``, keepalives and ``tcp_user_timeout`` bound the worker
thread itself, so it comes back from a dead peer on its own).

One caveat every client of a remote database shares: a timeout that fires while ``COMMIT`` is in
flight leaves the outcome unknown; if that commit did land, the buffered retry writes its events a
second time (the state row is an idempotent upsert). It needs the database to freeze during that
one round trip.
"""

from __future__ import annotations

import contextlib
import queue
import re
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import psycopg
from psycopg import conninfo as pg_conninfo

from migration.cluster.store import ClusterSqlStore
from migration.store_sql import POSTGRES, Execute, StateStoreError, StoreUnreachable, one_line

__all__ = ["CALL_TIMEOUT_S", "OPEN_TIMEOUT_S", "PostgresStore", "is_postgres_url", "redact_url"]

T = TypeVar("T")

#: Longest the event loop waits for one store call (a commit is ~1 ms on a healthy server).
CALL_TIMEOUT_S = 0.25
#: Longest start-up waits to connect and check the schema (libpq's connect_timeout is >= 2 s).
OPEN_TIMEOUT_S = 5.0

#: Connection parameters used unless the URL sets them (libpq names).
_DEFAULTS = {
    "connect_timeout": "2",  # seconds; libpq's minimum
    "keepalives": "1",
    "keepalives_idle": "5",
    "keepalives_interval": "2",
    "keepalives_count": "2",
    "tcp_user_timeout": "3000",  # ms: unacknowledged data fails the socket
    "application_name": "cutover",
}
#: Server-side limits, put before any ``options`` of the URL (so the URL's own ``-c`` wins).
_SESSION = (
    "-c statement_timeout=1000 -c lock_timeout=200 -c idle_in_transaction_session_timeout=10000"
)

_SCHEMES = ("postgresql://", "postgres://")
_USERINFO = re.compile(r"(?P<head>://[^:/@?#]*:)[^@/?#]*@")
_PASSWORD_PARAM = re.compile(r"(?P<head>[?&]password=)[^&#]*", re.IGNORECASE)


def is_postgres_url(value: str) -> bool:
    """True for a ``postgresql://`` or ``postgres://`` URL."""
    return value.strip().lower().startswith(_SCHEMES)


def redact_url(url: str) -> str:
    """``url`` with its password (user-info or ``password=`` parameter) replaced by ``***``."""
    return _PASSWORD_PARAM.sub(r"\g<head>***", _USERINFO.sub(r"\g<head>***@", url))


def _password(url: str, params: dict[str, Any] | None = None) -> str:
    if params and params.get("password"):
        return str(params["password"])
    match = re.search(r"://[^:/@?#]*:([^@/?#]*)@", url)
    return match.group(1) if match else ""


def _scrub(text: str, secret: str) -> str:
    """``text`` without ``secret`` (a driver message never should contain it; make sure)."""
    return text.replace(secret, "***") if len(secret) >= 3 else text


def _answered(exc: psycopg.OperationalError) -> bool:
    """True when the server itself refused (a wrong password, an unknown database, no access)."""
    return exc.sqlstate is not None and exc.sqlstate[:2] in ("28", "3D", "42")


def connection_params(url: str) -> dict[str, Any]:
    """libpq parameters for ``url`` with this store's timeouts; StateStoreError if malformed."""
    where = redact_url(url)
    try:
        params: dict[str, Any] = pg_conninfo.conninfo_to_dict(url)
    except psycopg.Error as exc:
        reason = _scrub(one_line(exc), _password(url))
        raise StateStoreError(f"not a valid PostgreSQL URL ({where}): {reason}") from None
    for port in str(params.get("port", "")).split(","):
        if port and not (port.isdigit() and 0 < int(port) < 65536):
            raise StateStoreError(f"not a valid PostgreSQL URL ({where}): bad port {port!r}")
    for key, value in _DEFAULTS.items():
        params.setdefault(key, value)
    params["options"] = f"{_SESSION} {params.get('options', '')}".strip()
    return params


class _Job:
    """One call handed to the worker thread."""

    def __init__(self, fn: Callable[[psycopg.Connection[Any], _Job], Any]) -> None:
        self.fn = fn
        self.done = threading.Event()
        self.abandoned = False
        self.result: Any = None
        self.error: BaseException | None = None


class _Abandoned(Exception):
    """The caller stopped waiting before COMMIT: roll the transaction back."""


class PostgresStore(ClusterSqlStore):
    """:class:`~migration.store.StateStore` in a PostgreSQL database, every call time-bounded."""

    dialect = POSTGRES

    def __init__(
        self,
        url: str,
        *,
        max_snapshots: int = 2000,
        max_events: int = 10_000,
        call_timeout_s: float = CALL_TIMEOUT_S,
        open_timeout_s: float = OPEN_TIMEOUT_S,
        lazy: bool = False,
    ) -> None:
        """``lazy``: a server that does not answer now is not an error; the schema is checked on
        the first call it answers (a replica starting fail-static from its snapshot file)."""
        self.where = redact_url(url)
        self._params = connection_params(url)
        self._secret = _password(url, self._params)
        self.max_snapshots = max_snapshots
        self.max_events = max_events
        self.call_timeout_s = call_timeout_s
        self._timeout = open_timeout_s
        self._conn: psycopg.Connection[Any] | None = None
        self._stuck: _Job | None = None
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        # A daemon thread: one stuck on a frozen server must not hold the process at exit.
        self._thread = threading.Thread(target=self._serve, name="cutover-postgres", daemon=True)
        self._thread.start()
        self._schema_pending = False
        try:
            self._open_schema(self.where)
        except StoreUnreachable:
            if not lazy:
                self.close()
                raise
            self._schema_pending = True
        except BaseException:
            self.close()
            raise
        self._timeout = call_timeout_s

    def _ensure_schema(self) -> None:
        """Check (or create) the schema once the server answers, for a lazily opened store."""
        if self._schema_pending:
            self._schema_pending = False
            try:
                self._open_schema(self.where)
            except BaseException:
                self._schema_pending = True
                raise

    def close(self) -> None:
        """Close the connection (waits briefly for a call in progress)."""
        self._jobs.put(None)
        self._thread.join(timeout=1.0)

    # -- the worker thread ------------------------------------------------------------------------

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                if self._conn is None or self._conn.closed:
                    self._conn = psycopg.connect(**self._params, autocommit=True)
                job.result = job.fn(self._conn, job)
            except _Abandoned:
                pass
            except psycopg.Error as exc:
                reason = _scrub(one_line(exc), self._secret)
                unreachable = isinstance(exc, psycopg.OperationalError) and not _answered(exc)
                kind = StoreUnreachable if unreachable else StateStoreError
                job.error = kind(f"state store {self.where}: {reason}")
                if isinstance(exc, psycopg.OperationalError):
                    self._drop()  # a broken or half-known connection: reconnect next time
            except BaseException as exc:  # handed to the caller, never lost with the thread
                job.error = exc
            if job.abandoned:
                self._drop()
            job.done.set()
        self._drop()

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):  # a broken connection has nothing to report
                self._conn.close()
            self._conn = None

    def _call(self, fn: Callable[[psycopg.Connection[Any], _Job], T]) -> T:
        stuck = self._stuck
        if stuck is not None and not stuck.done.is_set():
            raise StoreUnreachable(
                f"state store {self.where}: no answer to a call made {self.call_timeout_s:g}s+ ago"
            )
        self._stuck = None
        job = _Job(fn)
        self._jobs.put(job)
        if not job.done.wait(self._timeout):
            job.abandoned = True
            self._stuck = job
            raise StoreUnreachable(f"state store {self.where}: no answer within {self._timeout:g}s")
        if job.error is not None:
            raise job.error
        result: T = job.result
        return result

    # -- the SqlStore primitives ------------------------------------------------------------------

    def _transaction(self, work: Callable[[Execute], T]) -> T:
        self._ensure_schema()

        def run(conn: psycopg.Connection[Any], job: _Job) -> T:
            with conn.cursor() as cur:

                def execute(sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
                    cur.execute(sql, params)
                    return cur.fetchall() if cur.description is not None else []

                with conn.transaction():
                    result = work(execute)
                    if job.abandoned:
                        raise _Abandoned
                return result

        return self._call(run)

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self._ensure_schema()
        text = self.dialect.sql(sql)

        def run(conn: psycopg.Connection[Any], job: _Job) -> list[tuple[Any, ...]]:
            return conn.execute(text, params).fetchall()

        return self._call(run)
