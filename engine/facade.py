"""``Engine``: the one object both backends and the CLI call; plain JSON-ready dicts in and out.

It wires the scanner, the context builder and the task store to one database (a SQLite file, or
PostgreSQL by URL: ``engine.pgdb``) and one project root, and knows nothing about HTTP. Thread-safe:
the database is lock-guarded and the rest holds no mutable state.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from engine.config import HasEngineSettings, engine_config
from engine.context import build_context, check_request
from engine.db import open_database
from engine.errors import InvalidInput
from engine.ids import uuid4_hex
from engine.paths import confine, is_inside
from engine.project import census, read_metadata
from engine.scanner import DEFAULT_INCLUDE, ProgressCallback, Scanner, summary_of
from engine.tasks import TaskStore
from engine.timefmt import Clock, utc_now
from engine.version import VERSION


def _database_excludes(root: Path, database: Path) -> list[str]:
    """Globs for the SQLite file and its WAL/SHM companions when they live inside the root.

    The default location (``.llmstruct/``) is excluded anyway; a custom one inside the
    root must not show up in scans or in the file census (it changes on every write, which
    would make ``project_info`` flap).
    """
    if not is_inside(root, database.parent.resolve()):
        return []
    rel = database.parent.resolve().relative_to(root).as_posix()
    base = "" if rel == "." else rel + "/"
    return [f"/{base}{database.name}{suffix}" for suffix in ("", "-wal", "-shm", "-journal")]


class Engine:
    """The llmstruct facade (contracts/API.md, "The engine facade").

    ``settings`` is an ``LlmstructSettings`` (backends) or an ``EngineConfig`` (the CLI, tests);
    ``clock`` and ``new_id`` are injectable so tests can pin timestamps and ids.
    """

    def __init__(
        self,
        settings: HasEngineSettings,
        clock: Clock = utc_now,
        new_id: Callable[[], str] | None = None,
    ) -> None:
        config = engine_config(settings)
        self.root = config.project_root
        # A SQLite file (``Path``) or a ``postgresql://`` URL (``str``; show it via
        # ``database_location``).
        self.database_path = config.database
        self._db = open_database(config.database)
        self.database_location = self._db.location  # printable: a URL's password is redacted
        self._own_files = (
            _database_excludes(self.root, config.database)
            if isinstance(config.database, Path)
            else []
        )
        self._scanner = Scanner(self.root, self._db, clock, always_exclude=self._own_files)
        self._tasks = TaskStore(self._db, clock, new_id or uuid4_hex)

    # -- system ------------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """``{"status": "ok", "version": ...}``."""
        return {"status": "ok", "version": VERSION}

    def status(self) -> dict[str, Any]:
        """Version, root, last scan summary and task counts per status."""
        return {
            "status": "ok",
            "version": VERSION,
            "project_root": str(self.root),
            "last_scan": self._scanner.last_summary(),
            "task_counts": self._tasks.counts(),
        }

    # -- project -----------------------------------------------------------------------------------
    def project_info(self) -> dict[str, Any]:
        """ProjectInfo: pyproject metadata, file census, ``finished_at`` of the last scan."""
        last = self._scanner.last_summary()
        return {
            **read_metadata(self.root),
            "root": str(self.root),
            **census(self.root, self._own_files),
            "last_scan": last["finished_at"] if last else None,
        }

    def scan(
        self,
        paths: Sequence[str] | None = None,
        include_patterns: Sequence[str] | None = DEFAULT_INCLUDE,
        exclude_patterns: Sequence[str] | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> dict[str, Any]:
        """Scan (confined to the root) and store it as the last scan; returns the ScanResponse."""
        return self._scanner.scan(paths, include_patterns, exclude_patterns, on_progress)

    def context(
        self,
        mode: str,
        query: str | None = None,
        include_files: Sequence[str] | None = None,
        max_tokens: int = 8000,
    ) -> dict[str, Any]:
        """ContextResponse from the last scan (a default scan runs first when there is none)."""
        check_request(mode, max_tokens)
        if query is not None and not isinstance(query, str):
            raise InvalidInput("query: must be a string")
        if isinstance(include_files, str) or not all(
            isinstance(raw, str) for raw in include_files or ()
        ):
            raise InvalidInput("include_files: must be a list of strings")
        wanted = [self._normalised(raw) for raw in include_files or ()]
        last = self._scanner.last_scan()
        if last is None:
            self._scanner.scan()
            last = self._scanner.last_scan()
            assert last is not None, "a completed scan is always stored"
        response, files = last
        headers: dict[str, Any] = {
            "project": {"name": read_metadata(self.root)["name"], "root": str(self.root)},
            "scan": summary_of(response),
        }
        if mode == "SESSION":
            files = []
        tasks = self._tasks.open_tasks() if mode == "SESSION" else []
        return build_context(mode, headers, files, tasks, max_tokens, query, wanted)

    def _normalised(self, raw: str) -> str:
        """An ``include_files`` entry checked against the root and written like scan paths."""
        confine(self.root, raw)
        normal = os.path.normpath(raw.replace("\\", "/")).replace(os.sep, "/")
        return "" if normal == "." else normal

    # -- tasks -------------------------------------------------------------------------------------
    def create_task(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Create an ``open`` task; returns the TaskResponse."""
        return self._tasks.create(data)

    def list_tasks(
        self,
        status: str | None = None,
        priority: str | None = None,
        tag: str | None = None,
        q: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> dict[str, Any]:
        """``{"items", "total", "limit", "offset"}``, newest first."""
        return self._tasks.page(status, priority, tag, q, limit, offset)

    def get_task(self, task_id: str) -> dict[str, Any]:
        """One TaskResponse; ``NotFound`` when missing."""
        return self._tasks.get(task_id)

    def update_task(self, task_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Apply the given fields; ``NotFound`` when missing."""
        return self._tasks.update(task_id, changes)

    def delete_task(self, task_id: str) -> None:
        """Delete; ``NotFound`` when missing."""
        self._tasks.delete(task_id)

    def close(self) -> None:
        """Release the database connection."""
        self._db.close()
