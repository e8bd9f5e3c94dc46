"""Exact response caches for the read endpoints: never stale, invalidated by what answers depend on.

Seed 001 plans a cache in front of the engine ("HighPerformanceCache"); a TTL would let the two
stacks disagree during a migration, so these caches are validated on every hit instead:

- ``DataVersion``: SQLite's ``PRAGMA data_version`` on a private connection to the shared task
  store. It changes whenever *any other* connection commits — the engine's own connection in this
  process as well as the baseline's process or the CLI — so an answer computed from the database is
  reused only while nothing was committed since. The version is read *before* the answer is
  computed, so a commit racing with the computation can only make the entry look older than it is
  (it is then dropped), never fresher.
- On PostgreSQL (``LLMSTRUCT_DATABASE=postgresql://…``) there is no ``data_version``: every write
  transaction of the engine bumps the one row of its ``data_version`` table first
  (``engine.pgdb``), and ``open_data_version`` reads that counter instead, with one indexed
  one-row query on a private connection. The bump commits with the write, so a reader that sees
  the new row sees the new counter too.
- ``TreeSignature``: ``(path, mtime_ns, size)`` of every file the engine's census can count
  (the walk skips the engine's default excluded directory names, which the census skips too),
  for ``project/info``, whose file statistics read every file. Stat-ing is an order of
  magnitude cheaper than reading.
- ``file_stamp``: one ``stat`` of ``pyproject.toml``, the only file a context
  reads outside the database.

``ResponseCache`` keeps encoded responses (orjson is skipped on a hit) under a validity token; a
changed token empties it. It is bounded: when full it is cleared, which keeps the hot path a plain
dict lookup.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Hashable
from pathlib import Path
from typing import Final, Protocol

from custom_backend.responses import Response

# The engine's default excludes that are plain names (they match any path
# component) and ``*.egg-info``.
_SKIPPED_DIRS: Final = frozenset(
    {
        ".git",
        ".venv",
        "venv",
        "__pycache__",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        "node_modules",
        ".llmstruct",
    }
)


class VersionSource(Protocol):
    """A change counter of the shared store (``current`` is None when it cannot answer at once)."""

    def current(self) -> int | None: ...

    def close(self) -> None: ...


def open_data_version(location: Path | str) -> VersionSource:
    """``DataVersion`` for a SQLite file, ``engine.pgdb.PostgresDataVersion`` for a URL."""
    if isinstance(location, Path):
        return DataVersion(location)
    from engine.pgdb import PostgresDataVersion

    return PostgresDataVersion(location)


class DataVersion:
    """The shared SQLite file's change counter, read on a connection nothing else uses."""

    def __init__(self, database: Path) -> None:
        # No busy wait: this runs on the event loop, which must never sit in SQLite's busy handler.
        self._conn = sqlite3.connect(
            str(database), timeout=0.0, check_same_thread=False, isolation_level=None
        )

    def current(self) -> int | None:
        """A number that differs from the previous one whenever another connection committed.

        None when SQLite cannot answer at once (a lock held elsewhere): the caller then skips the
        cache and asks the engine, in a thread, like any miss.
        """
        try:
            return int(self._conn.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error:
            return None

    def close(self) -> None:
        """Close the private connection."""
        self._conn.close()


def file_stamp(path: Path) -> tuple[int, int] | None:
    """``(mtime_ns, size)`` of ``path``, or None when it does not exist."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size)


class TreeSignature:
    """A hash over the stat of every file under the root the census may count."""

    def __init__(self, root: Path) -> None:
        self.root = str(root)

    def current(self) -> int:
        """Changes when a counted file is added, removed, resized or modified."""
        entries: list[tuple[str, int, int]] = []
        stack = [self.root]
        while stack:
            directory = stack.pop()
            try:
                scanner = os.scandir(directory)
            except OSError:
                continue
            with scanner:
                for entry in scanner:
                    name = entry.name
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            if name not in _SKIPPED_DIRS and not name.endswith(".egg-info"):
                                stack.append(entry.path)
                            continue
                        stat = entry.stat()  # follows a symlinked file: the census reads its target
                        entries.append((entry.path, stat.st_mtime_ns, stat.st_size))
                    except OSError:
                        entries.append((entry.path, -1, -1))
        entries.sort()
        return hash(tuple(entries))


class ResponseCache:
    """Encoded responses under one validity token; a new token drops them all."""

    def __init__(self, max_entries: int = 1024) -> None:
        self._entries: dict[Hashable, Response] = {}
        self._token: Hashable = None
        self._max = max_entries
        self.hits = 0
        self.misses = 0

    def get(self, token: Hashable, key: Hashable) -> Response | None:
        """The response stored for ``key`` while the token was ``token``, else None."""
        if token != self._token:
            self._entries.clear()
            self._token = token
            self.misses += 1
            return None
        found = self._entries.get(key)
        if found is None:
            self.misses += 1
        else:
            self.hits += 1
        return found

    def put(self, token: Hashable, key: Hashable, response: Response) -> None:
        """Store ``response`` computed under ``token`` (ignored if the token moved on since)."""
        if token != self._token:
            return
        if len(self._entries) >= self._max:
            self._entries.clear()
        self._entries[key] = response
