"""Pydantic v2 request and response models of the llmstruct API (API.md, seed 000 "Day 8-10").

Field order is the wire order: the candidate backend must produce byte-identical JSON, so
every response model lists its fields exactly as API.md does. The examples
(``json_schema_extra``) end up in the exported OpenAPI document, where the contract checker
uses them as sample requests and expected shapes.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Priority = Literal["low", "medium", "high", "urgent"]
TaskStatus = Literal["open", "in_progress", "done", "cancelled"]

_TASK_EXAMPLE: dict[str, Any] = {
    "id": "3f2b9c0a4d6e4b1f8a7c5e2d1b0a9f8e",
    "title": "Document the scan endpoint",
    "description": "Explain include and exclude patterns.",
    "status": "open",
    "priority": "high",
    "tags": ["docs", "api"],
    "estimated_effort": "2h",
    "created_at": "2026-11-25T12:00:00.123456Z",
    "updated_at": "2026-11-25T12:00:00.123456Z",
}
_SCAN_EXAMPLE: dict[str, Any] = {
    "scan_id": "9a1c2e3f4b5d6a7e8f9012ab34cd56ef",
    "status": "completed",
    "files_scanned": 42,
    "files_cached": 0,
    "total_lines": 5120,
    "modules": 42,
    "classes": 17,
    "functions": 230,
    "errors": [{"path": "broken.py", "error": "invalid syntax (line 3)"}],
    "started_at": "2026-11-25T12:00:00.100000Z",
    "finished_at": "2026-11-25T12:00:00.350000Z",
    "duration_ms": 250.0,
}


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    """Request models: examples only (FastAPI ignores unknown fields; the schema allows them)."""
    return ConfigDict(json_schema_extra={"examples": list(examples)})


def _closed(*examples: dict[str, Any]) -> ConfigDict:
    """Response models: examples, and ``additionalProperties: false`` so a candidate that adds a
    field breaks the contract (responses must be the same JSON, API.md). Output is filtered to the
    declared fields anyway, so this only tightens the documented schema."""
    extra: dict[str, Any] = {"additionalProperties": False}
    if examples:
        extra["examples"] = list(examples)
    return ConfigDict(json_schema_extra=extra)


class ErrorDetail(BaseModel):
    """Every non-validation error: FastAPI's ``{"detail": "..."}`` shape."""

    model_config = _closed({"detail": "Task not found"})

    detail: str


class Health(BaseModel):
    """Liveness of the API process itself."""

    model_config = _closed({"status": "ok", "version": "0.1.0"})

    status: Literal["ok"]
    version: str


class ScanSummary(BaseModel):
    """The last stored scan, as ``status`` reports it."""

    model_config = _closed()

    scan_id: str
    finished_at: datetime
    files_scanned: int
    total_lines: int
    errors: int


class TaskCounts(BaseModel):
    """Number of tasks per status."""

    model_config = _closed()

    open: int
    in_progress: int
    done: int
    cancelled: int


class Status(BaseModel):
    """Service status: the project served, its last scan and the task counts."""

    model_config = _closed(
        {
            "status": "ok",
            "version": "0.1.0",
            "project_root": "/srv/project",
            "last_scan": {
                "scan_id": "9a1c2e3f4b5d6a7e8f9012ab34cd56ef",
                "finished_at": "2026-11-25T12:00:00.350000Z",
                "files_scanned": 42,
                "total_lines": 5120,
                "errors": 1,
            },
            "task_counts": {"open": 3, "in_progress": 1, "done": 7, "cancelled": 0},
        }
    )

    status: Literal["ok"]
    version: str
    project_root: str
    last_scan: ScanSummary | None
    task_counts: TaskCounts


class ProjectInfo(BaseModel):
    """Project metadata from ``pyproject.toml`` plus file statistics of the root."""

    model_config = _closed(
        {
            "name": "llmstruct",
            "version": "0.1.0",
            "description": "Universal codebase analysis",
            "root": "/srv/project",
            "file_count": 120,
            "total_lines": 15000,
            "languages": {"Python": 80, "Markdown": 25, "TOML": 1},
            "last_scan": "2026-11-25T12:00:00.350000Z",
        }
    )

    name: str
    version: str | None
    description: str | None
    root: str
    file_count: int
    total_lines: int
    languages: dict[str, int]
    last_scan: datetime | None


class ScanRequest(BaseModel):
    """What to scan: paths relative to the root (empty = all of it) and glob filters."""

    model_config = _examples(
        {"paths": ["engine"], "include_patterns": ["**/*.py"], "exclude_patterns": ["tests/**"]},
        {},
    )

    paths: list[str] = Field(default_factory=list)
    include_patterns: list[str] = Field(default_factory=lambda: ["**/*.py"])
    exclude_patterns: list[str] = Field(default_factory=list)


class ScanFileError(BaseModel):
    """A file the scanner could not parse; the scan still completes."""

    model_config = _closed()

    path: str
    error: str


class ScanResponse(BaseModel):
    """The result of one completed scan, stored as the project's last scan."""

    model_config = _closed(_SCAN_EXAMPLE)

    scan_id: str
    status: Literal["completed"]
    files_scanned: int
    files_cached: int
    total_lines: int
    modules: int
    classes: int
    functions: int
    errors: list[ScanFileError]
    started_at: datetime
    finished_at: datetime
    duration_ms: float


class ContextMode(StrEnum):
    """The four context modes of seed 000; case-sensitive in the path."""

    FULL = "FULL"
    FOCUSED = "FOCUSED"
    MINIMAL = "MINIMAL"
    SESSION = "SESSION"


class ContextResponse(BaseModel):
    """LLM context built from the last scan within a token budget."""

    model_config = _closed(
        {
            "mode": "MINIMAL",
            "token_count": 412,
            "file_count": 3,
            "max_tokens": 8000,
            "truncated": False,
            "context_data": {"modules": [{"path": "engine/cli.py", "functions": ["main"]}]},
        }
    )

    mode: str
    token_count: int
    file_count: int
    max_tokens: int
    truncated: bool
    context_data: dict[str, Any]


class TaskCreateRequest(BaseModel):
    """A new task; the engine assigns id, status ``open`` and timestamps."""

    model_config = _examples(
        {
            "title": "Document the scan endpoint",
            "description": "Explain include and exclude patterns.",
            "priority": "high",
            "tags": ["docs", "api"],
            "estimated_effort": "2h",
        },
        {"title": "Minimal task"},
    )

    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    priority: Priority = "medium"
    tags: list[str] = Field(default_factory=list)
    estimated_effort: str | None = Field(default=None, max_length=50)


class TaskUpdateRequest(BaseModel):
    # The docstring is this schema's description in the OpenAPI document (contracts/openapi.json):
    # its line breaks are served, so it keeps the width it was published with.
    """A partial update: only the fields present in the body change.

    The non-nullable fields default to ``None`` only to mean "absent" (``exclude_unset`` drops them); an
    explicit ``null`` for them is a 422, while ``estimated_effort: null`` clears the estimate.
    """  # noqa: E501

    model_config = _examples({"status": "in_progress", "priority": "urgent"}, {"tags": ["api"]})

    # ``None`` here only marks "absent"; pydantic does not validate defaults,
    # so the types stay non-null.
    title: str = Field(default=None, min_length=1, max_length=200)  # type: ignore[assignment]
    description: str = Field(default=None, max_length=5000)  # type: ignore[assignment]
    status: TaskStatus = Field(default=None)  # type: ignore[arg-type]
    priority: Priority = Field(default=None)  # type: ignore[arg-type]
    tags: list[str] = Field(default=None)  # type: ignore[arg-type]
    estimated_effort: str | None = Field(default=None, max_length=50)


class TaskResponse(BaseModel):
    """One task as stored in the shared SQLite task store."""

    model_config = _closed(_TASK_EXAMPLE)

    id: str = Field(pattern=r"^[0-9a-f]{32}$")
    title: str
    description: str
    status: TaskStatus
    priority: Priority
    tags: list[str]
    estimated_effort: str | None
    created_at: datetime
    updated_at: datetime


class TaskList(BaseModel):
    """One page of tasks, newest first, with the total matching the filters."""

    model_config = _closed({"items": [_TASK_EXAMPLE], "total": 1, "limit": 50, "offset": 0})

    items: list[TaskResponse]
    total: int
    limit: int
    offset: int
