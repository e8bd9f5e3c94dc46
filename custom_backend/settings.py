"""The custom backend's settings, read from ``LLMSTRUCT_*`` without pydantic.

``engine.settings.LlmstructSettings`` is pydantic-settings; importing it costs the server
process ~10 MB of resident memory, and memory is one of the things this stack exists to save
(seed 001, "Migration Triggers"). ``load_settings`` reads the same variables with the same rules
— the root and the database go through ``engine.config``'s resolve functions, names are
case-insensitive, a bad value raises ``SettingsError`` naming ``LLMSTRUCT_<FIELD>`` — into a
frozen dataclass. ``create_app`` takes either this or an ``LlmstructSettings``
(``BackendSettings`` is what both provide).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

from engine.config import (
    DEFAULT_PROJECT_ROOT,
    ENV_PREFIX,
    SettingsError,
    resolve_database,
    resolve_project_root,
)

LOG_LEVELS: Final = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")


class BackendSettings(Protocol):
    """What the custom backend reads from its settings (``LlmstructSettings`` has all of it)."""

    @property
    def api_key(self) -> str: ...

    @property
    def project_root(self) -> Path: ...

    @property
    def database(self) -> Path | str | None: ...

    @property
    def max_body_bytes(self) -> int: ...

    @property
    def cors_origins(self) -> Sequence[str]: ...

    @property
    def log_level(self) -> str: ...


@dataclass(frozen=True)
class CustomSettings:
    """Resolved settings: the root and database are absolute, the level upper-case."""

    api_key: str = "dev-key"
    project_root: Path = DEFAULT_PROJECT_ROOT
    database: Path | str | None = None  # a SQLite file, or a postgresql:// URL
    max_body_bytes: int = 1_048_576
    cors_origins: tuple[str, ...] = ("*",)
    log_level: str = "INFO"


def _int(field: str, raw: str, minimum: int) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise SettingsError(field, f"not an integer: {raw!r}") from None
    if value < minimum:
        raise SettingsError(field, f"must be >= {minimum}, got {value}")
    return value


def _origins(raw: str) -> tuple[str, ...]:
    text = raw.strip()
    if text.startswith("["):
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise SettingsError("cors_origins", f"invalid JSON list: {exc}") from None
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise SettingsError("cors_origins", "expected a JSON list of strings")
        return tuple(value)
    return tuple(part.strip() for part in text.split(",") if part.strip())


def load_settings(environ: Mapping[str, str] | None = None) -> CustomSettings:
    """Read ``LLMSTRUCT_*`` (any case); a bad value raises ``SettingsError`` naming it."""
    source = os.environ if environ is None else environ
    env = {
        key.upper(): value for key, value in source.items() if key.upper().startswith(ENV_PREFIX)
    }

    def get(field: str) -> str | None:
        return env.get(f"{ENV_PREFIX}{field.upper()}")

    try:
        root = resolve_project_root(get("project_root"))
    except ValueError as exc:
        raise SettingsError("project_root", str(exc)) from exc
    try:
        database = resolve_database(get("database"), root)
    except ValueError as exc:
        raise SettingsError("database", str(exc)) from exc
    api_key = get("api_key")
    if api_key is not None and not api_key:
        raise SettingsError("api_key", "must not be empty")
    level = (get("log_level") or "INFO").strip().upper()
    if level not in LOG_LEVELS:
        raise SettingsError("log_level", f"expected one of {', '.join(LOG_LEVELS)}, got {level!r}")
    body = get("max_body_bytes")
    origins = get("cors_origins")
    return CustomSettings(
        api_key="dev-key" if api_key is None else api_key,
        project_root=root,
        database=database,
        max_body_bytes=1_048_576 if body is None else _int("max_body_bytes", body, 1),
        cors_origins=("*",) if origins is None else _origins(origins),
        log_level=level,
    )
