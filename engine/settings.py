"""``LlmstructSettings``: every ``LLMSTRUCT_*`` variable, read alike by both backends and the CLI.

The CLI only needs the root and the database and reads them through ``engine.config`` (same resolve
functions, no pydantic import cost); the backends load this class. A bad value raises pydantic's
``ValidationError``, whose message names the field; ``load_settings`` turns that into a
``SettingsError`` whose message starts with the environment variable.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from engine.config import (
    DEFAULT_PROJECT_ROOT,
    SettingsError,
    resolve_database,
    resolve_project_root,
)

LogLevel = Literal["CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"]


class LlmstructSettings(BaseSettings):
    """Settings of the llmstruct API (see contracts/API.md, "Settings"); frozen once loaded."""

    model_config = SettingsConfigDict(
        env_prefix="LLMSTRUCT_", case_sensitive=False, frozen=True, extra="ignore"
    )

    api_key: str = Field(default="dev-key", min_length=1)
    project_root: Path = DEFAULT_PROJECT_ROOT
    database: Path | str | None = (
        None  # a postgresql:// URL stays a str (a Path would fold its "//")
    )
    cli_timeout: float = Field(default=30.0, gt=0)
    max_concurrent: int = Field(default=10, ge=1)
    bridge_mode: Literal["subprocess", "inprocess"] = "subprocess"
    max_body_bytes: int = Field(default=1_048_576, ge=1)
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["*"])
    log_level: LogLevel = "INFO"

    @field_validator("project_root", mode="after")
    @classmethod
    def _root_exists(cls, value: Path) -> Path:
        return resolve_project_root(value)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        """Accept a JSON list (``["a","b"]``) or a comma-separated string (``a,b``)."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _default_database(self) -> LlmstructSettings:
        """Fill ``database`` (a ``Path``, or a checked URL ``str``) from the root, validated."""
        try:
            database = resolve_database(self.database, self.project_root)
        except ValueError as exc:
            raise ValueError(f"database: {exc}") from exc
        object.__setattr__(self, "database", database)
        return self

    @property
    def database_path(self) -> Path | str:
        """``database`` without ``None`` (never ``None`` after validation): a file, or a URL."""
        assert self.database is not None
        return self.database


def load_settings(**overrides: Any) -> LlmstructSettings:
    """Load from the environment; a bad value raises ``SettingsError`` naming the variable."""
    try:
        return LlmstructSettings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "settings"
        message = str(first["msg"])
        if not first["loc"] and "database: " in message:
            # The model validator's: its message already shows the value (a URL redacted), and the
            # input would be every field at once, a database URL's password included.
            raise SettingsError("database", message.split("database: ", 1)[1]) from None
        raise SettingsError(field, f"{message} (got {first.get('input')!r})") from exc
