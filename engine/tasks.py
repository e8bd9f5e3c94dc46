"""The task store: CRUD, filters, search and pagination over the shared SQLite file.

Input is checked here too (the CLI passes raw JSON) with the same limits as ``TaskCreateRequest`` /
``TaskUpdateRequest`` in contracts/API.md. Unknown keys are ignored, as pydantic does by default, so
a backend may pass a request body straight through. Timestamps are stored as integer microseconds
(sortable) and formatted on the way out; ids are uuid4 hex.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from engine.db import Store
from engine.errors import InvalidInput, NotFound
from engine.ids import uuid4_hex
from engine.timefmt import Clock, format_utc, from_micros, to_micros, utc_now

STATUSES = ("open", "in_progress", "done", "cancelled")
PRIORITIES = ("low", "medium", "high", "urgent")
OPEN_STATUSES = ("open", "in_progress")
TITLE_MAX, DESCRIPTION_MAX, EFFORT_MAX = 200, 5000, 50
LIMIT_MAX = 200
# SQLite's INTEGER is a signed 64-bit value: an OFFSET beyond it cannot even be bound
# (OverflowError), so both backends refuse it with a 422 before it reaches the store (issue #12,
# found by the fuzz run). PostgreSQL's BIGINT has the same bound, so the limit is the same on both
# stores.
OFFSET_MAX = 2**63 - 1

_COLUMNS = (
    "id, title, description, status, priority, tags, estimated_effort, created_us, updated_us"
)


def _unicode(value: str, key: str) -> str:
    """Refuse a lone surrogate (``"\\ud800"`` is valid JSON, not Unicode text): SQLite cannot store
    it and neither backend could encode it back (issue #12: a 500 on both before this check)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{key}: must be valid Unicode text (no lone surrogates)") from None
    return value


def _text(data: Mapping[str, Any], key: str, low: int, high: int) -> str:
    value = data[key]
    if not isinstance(value, str):
        raise InvalidInput(f"{key}: must be a string")
    if not low <= len(value) <= high:
        raise InvalidInput(f"{key}: length must be between {low} and {high} characters")
    return _unicode(value, key)


def _choice(data: Mapping[str, Any], key: str, allowed: tuple[str, ...]) -> str:
    value = data[key]
    if value not in allowed:
        raise InvalidInput(f"{key}: must be one of {', '.join(allowed)}")
    return str(value)


def _tags(data: Mapping[str, Any]) -> list[str]:
    value = data["tags"]
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise InvalidInput("tags: must be a list of strings")
    return [_unicode(tag, "tags") for tag in value]


def _effort(data: Mapping[str, Any]) -> str | None:
    if data["estimated_effort"] is None:
        return None
    return _text(data, "estimated_effort", 0, EFFORT_MAX)


def _no_nul(values: Any) -> None:
    """Refuse U+0000 in stored text on PostgreSQL (``text`` cannot hold it), naming the field."""
    for key, value in zip(("title", "description", "estimated_effort"), values, strict=True):
        if isinstance(value, str) and "\x00" in value:
            raise InvalidInput(f"{key}: must not contain NUL characters (U+0000)")


def _row_to_task(row: tuple[Any, ...]) -> dict[str, Any]:
    return {
        "id": row[0],
        "title": row[1],
        "description": row[2],
        "status": row[3],
        "priority": row[4],
        "tags": json.loads(row[5]),
        "estimated_effort": row[6],
        "created_at": format_utc(from_micros(row[7])),
        "updated_at": format_utc(from_micros(row[8])),
    }


class TaskStore:
    """Tasks in the shared database; every write is one committed transaction."""

    def __init__(
        self,
        db: Store,
        clock: Clock = utc_now,
        new_id: Callable[[], str] = uuid4_hex,
    ) -> None:
        self._db = db
        self._clock = clock
        self._new_id = new_id
        # PostgreSQL (engine.pgdb) has no contains_ci: it searches case-folded copies kept beside
        # the text (Python's casefold, so both stores find the same tasks), and its text cannot hold
        # NUL.
        self._pg = db.dialect == "postgresql"

    def create(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Create an ``open`` task from TaskCreateRequest fields (defaults filled in)."""
        if not isinstance(data, Mapping):
            raise InvalidInput("task data must be a JSON object")
        if "title" not in data:
            raise InvalidInput("title: field required")
        full: dict[str, Any] = {
            "description": "",
            "priority": "medium",
            "tags": [],
            "estimated_effort": None,
        }
        full.update(data)
        now = to_micros(self._clock())
        row = (
            self._new_id(),
            _text(full, "title", 1, TITLE_MAX),
            _text(full, "description", 0, DESCRIPTION_MAX),
            "open",
            _choice(full, "priority", PRIORITIES),
            json.dumps(_tags(full)),
            _effort(full),
            now,
            now,
        )
        if self._pg:
            _no_nul(row[1:3] + row[6:7])
        with self._db.transaction() as conn:
            if self._pg:
                conn.execute(
                    f"INSERT INTO tasks ({_COLUMNS}, title_cf, description_cf)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (*row, row[1].casefold(), row[2].casefold()),
                )
            else:
                conn.execute(f"INSERT INTO tasks ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)", row)
        return _row_to_task(row)

    def get(self, task_id: str) -> dict[str, Any]:
        """One task, or ``NotFound``."""
        self._check_id(task_id)
        rows = self._db.query(f"SELECT {_COLUMNS} FROM tasks WHERE id = ?", (str(task_id),))
        if not rows:
            raise NotFound()
        return _row_to_task(rows[0])

    def update(self, task_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Change only the given fields; ``updated_at`` moves when at least one field is given."""
        if not isinstance(changes, Mapping):
            raise InvalidInput("changes must be a JSON object")
        self._check_id(task_id)
        columns: dict[str, Any] = {}
        checks: dict[str, Callable[[], Any]] = {
            "title": lambda: _text(changes, "title", 1, TITLE_MAX),
            "description": lambda: _text(changes, "description", 0, DESCRIPTION_MAX),
            "status": lambda: _choice(changes, "status", STATUSES),
            "priority": lambda: _choice(changes, "priority", PRIORITIES),
            "tags": lambda: json.dumps(_tags(changes)),
            "estimated_effort": lambda: _effort(changes),
        }
        for key, check in checks.items():
            if key in changes:
                columns[key] = check()
        if self._pg:
            _no_nul([columns.get(key) for key in ("title", "description", "estimated_effort")])
            for key in ("title", "description"):
                if key in columns:
                    columns[f"{key}_cf"] = columns[key].casefold()
        with self._db.transaction() as conn:
            if not conn.execute("SELECT 1 FROM tasks WHERE id = ?", (str(task_id),)).fetchone():
                raise NotFound()
            if columns:
                columns["updated_us"] = to_micros(self._clock())
                assignments = ", ".join(f"{name} = ?" for name in columns)
                conn.execute(
                    f"UPDATE tasks SET {assignments} WHERE id = ?",
                    (*columns.values(), str(task_id)),
                )
            row = conn.execute(f"SELECT {_COLUMNS} FROM tasks WHERE id = ?", (str(task_id),))
            return _row_to_task(row.fetchone())

    def delete(self, task_id: str) -> None:
        """Delete a task, or ``NotFound``."""
        self._check_id(task_id)
        with self._db.transaction() as conn:
            if conn.execute("DELETE FROM tasks WHERE id = ?", (str(task_id),)).rowcount == 0:
                raise NotFound()

    def _check_id(self, task_id: str) -> None:
        """An id PostgreSQL cannot compare (U+0000) names no task: ``NotFound``, as on SQLite."""
        if self._pg and "\x00" in str(task_id):
            raise NotFound()

    def page(
        self,
        status: str | None = None,
        priority: str | None = None,
        tag: str | None = None,
        q: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> dict[str, Any]:
        """A page of tasks, newest first (then by id), with the total matching the filters."""
        if status is not None and status not in STATUSES:
            raise InvalidInput(f"status: must be one of {', '.join(STATUSES)}")
        if priority is not None and priority not in PRIORITIES:
            raise InvalidInput(f"priority: must be one of {', '.join(PRIORITIES)}")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= LIMIT_MAX:
            raise InvalidInput(f"limit: must be an integer between 1 and {LIMIT_MAX}")
        if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= OFFSET_MAX:
            raise InvalidInput(f"offset: must be an integer between 0 and {OFFSET_MAX}")
        where, params = self._filters(status, priority, tag, q, self._pg)
        total = self._db.query(f"SELECT COUNT(*) FROM tasks{where}", params)[0][0]
        rows = self._db.query(
            f"SELECT {_COLUMNS} FROM tasks{where} ORDER BY created_us DESC, id LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return {
            "items": [_row_to_task(row) for row in rows],
            "total": total,
            "limit": limit,
            "offset": offset,
        }

    @staticmethod
    def _filters(
        status: str | None, priority: str | None, tag: str | None, q: str | None, pg: bool
    ) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if status is not None:
            clauses.append("status = ?")
            params.append(status)
        if priority is not None:
            clauses.append("priority = ?")
            params.append(priority)
        if tag is not None and pg:
            # Element by element as JSON text, encoded as the column was: no unescaping, so a tag
            # holding U+0000 (stored escaped) is matched too, which PostgreSQL's json functions
            # refuse.
            clauses.append(
                "EXISTS (SELECT 1 FROM json_array_elements(tasks.tags::json) e WHERE e::text = ?)"
            )
            params.append(json.dumps(tag))
        elif tag is not None:
            clauses.append("EXISTS (SELECT 1 FROM json_each(tasks.tags) WHERE value = ?)")
            params.append(tag)
        if q is not None and q != "" and pg and "\x00" in q:
            clauses.append("FALSE")  # no stored text contains NUL (refused on the way in)
        elif q is not None and q != "" and pg:
            clauses.append("(strpos(title_cf, ?) > 0 OR strpos(description_cf, ?) > 0)")
            params.extend([q.casefold(), q.casefold()])
        elif q is not None and q != "":
            clauses.append("(contains_ci(title, ?) OR contains_ci(description, ?))")
            params.extend([q, q])
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), params

    def counts(self) -> dict[str, int]:
        """How many tasks are in each status (every status present, zeros included)."""
        found = dict(self._db.query("SELECT status, COUNT(*) FROM tasks GROUP BY status"))
        return {status: int(found.get(status, 0)) for status in STATUSES}

    def open_tasks(self) -> list[dict[str, Any]]:
        """Tasks still to do (``open`` or ``in_progress``), newest first."""
        rows = self._db.query(
            f"SELECT {_COLUMNS} FROM tasks WHERE status IN (?, ?) ORDER BY created_us DESC, id",
            OPEN_STATUSES,
        )
        return [_row_to_task(row) for row in rows]
