"""Being told that a new config version exists: LISTEN on PostgreSQL, a plain timeout elsewhere.

A member follows the config snapshot by reading it whenever :meth:`ConfigWatcher.wait` returns —
True when told of a new version, False when the poll interval passed (NOTIFY is not durable: a
notice sent while the listener was reconnecting is gone, so followers poll too, at most every 2 s).

:class:`PostgresConfigWatcher` keeps a connection of its own (autocommit, the store's connection
parameters and timeouts from :func:`~migration.store_postgres.connection_params`) that listens
on :data:`~migration.cluster.seams.CONFIG_CHANNEL` on a daemon thread. A broken connection is
replaced with a backoff (0.1 s doubling to :data:`MAX_BACKOFF_S`); nothing is ever raised into the
caller. Every successful ``LISTEN`` — the first one included — also counts as a notice, because
anything may have changed while nobody was listening. A notice that comes while nobody waits is
kept (one flag), so the next :meth:`~PostgresConfigWatcher.wait` returns True at once: a follower
reading the config between two waits misses nothing. One watcher per consumer. NOTIFY channels
are per database, not per schema: two clusters in two schemas of one database wake each other,
which costs each a needless read and nothing else.

The thread reaches the event loop only through ``loop.call_soon_threadsafe``: ``wait`` never
blocks the loop. :class:`SleepingConfigWatcher` is the SQLite one (no LISTEN there): its ``wait``
sleeps the timeout and returns False, leaving the poll to do the work.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from pathlib import Path
from typing import Protocol

import structlog

from migration.cluster.seams import CONFIG_CHANNEL

__all__ = [
    "MAX_BACKOFF_S",
    "ConfigWatcher",
    "PostgresConfigWatcher",
    "SleepingConfigWatcher",
    "open_config_watcher",
]

log = structlog.get_logger("cutover.cluster.config_watch")

#: Longest pause between two reconnection attempts.
MAX_BACKOFF_S = 2.0
#: How often the listening thread looks up from its socket to see whether it was closed.
_POLL_S = 0.5


class ConfigWatcher(Protocol):
    """Wakes a follower when a new config version may exist."""

    async def wait(self, timeout_s: float) -> bool:
        """True when told of a new version (now or since the last wait), False on timeout."""
        ...

    def close(self) -> None:
        """Stop listening (idempotent)."""
        ...


def open_config_watcher(state_db: Path | str) -> ConfigWatcher:
    """The watcher for ``migration.state_db``: LISTEN for a PostgreSQL URL, a sleep for a file."""
    if isinstance(state_db, str):
        return PostgresConfigWatcher(state_db)
    return SleepingConfigWatcher()


class SleepingConfigWatcher:
    """No notifications (SQLite): every wait is a timeout."""

    async def wait(self, timeout_s: float) -> bool:
        await asyncio.sleep(timeout_s)
        return False

    def close(self) -> None:
        pass


class PostgresConfigWatcher:
    """``LISTEN cutover_config`` on a connection and a daemon thread of its own."""

    def __init__(self, url: str, *, max_backoff_s: float = MAX_BACKOFF_S) -> None:
        from migration.store_postgres import connection_params, redact_url  # psycopg when asked

        self.where = redact_url(url)
        self._params = connection_params(url)
        self._max_backoff_s = max_backoff_s
        self._lock = threading.Lock()
        self._pending = False
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._closed = threading.Event()
        #: Set while the connection is LISTENing (tests wait on it; a status may show it).
        self.listening = threading.Event()
        #: Successful LISTENs so far (1 after the first connection; more after reconnections).
        self.connections = 0
        self._thread = threading.Thread(target=self._run, name="cutover-config-watch", daemon=True)
        self._thread.start()

    # -- the caller's side ------------------------------------------------------------------------

    async def wait(self, timeout_s: float) -> bool:
        """True when a notice arrived (now or since the last wait), False after ``timeout_s``."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        entry = (loop, future)
        with self._lock:
            if self._pending:
                self._pending = False
                return True
            self._waiters.append(entry)
        try:
            await asyncio.wait({future}, timeout=timeout_s)
        finally:
            with self._lock:
                woken = entry not in self._waiters  # the thread took it out to wake it
                if not woken:
                    self._waiters.remove(entry)
        return woken

    def close(self) -> None:
        """Stop the thread, which closes the connection within ``_POLL_S`` (idempotent).

        The connection is left to its own thread: a psycopg connection is not to be used from two
        threads at once, so the thread looks up every ``_POLL_S`` and leaves by itself.
        """
        self._closed.set()
        self._thread.join(timeout=_POLL_S + 1.0)

    # -- the thread's side ------------------------------------------------------------------------

    def _wake(self) -> None:
        with self._lock:
            waiters, self._waiters = self._waiters, []
            if not waiters:
                self._pending = True
        for loop, future in waiters:
            with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits there
                loop.call_soon_threadsafe(_resolve, future)

    def _run(self) -> None:
        import psycopg

        backoff = 0.1
        while not self._closed.is_set():
            try:
                with psycopg.connect(**self._params, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CONFIG_CHANNEL}")
                    self.connections += 1
                    self.listening.set()
                    backoff = 0.1
                    self._wake()  # whatever happened while nobody listened
                    while not self._closed.is_set():
                        for _ in conn.notifies(timeout=_POLL_S):
                            self._wake()
            except Exception as exc:  # a listener outlives any failure: it retries
                if not self._closed.is_set():
                    log.warning("config_listen_lost", store=self.where, error=type(exc).__name__)
            finally:
                self.listening.clear()
            if self._closed.wait(backoff):
                return
            backoff = min(backoff * 2, self._max_backoff_s)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
