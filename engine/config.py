"""The two settings the engine itself needs (project root, database), parsed without pydantic.

``LlmstructSettings`` (pydantic-settings) is what the backends load; the ``llmstruct`` CLI is
spawned once per request by the legacy backend, and importing pydantic-settings costs it ~200 ms, so
the CLI reads just these two variables here. Both paths call the same resolve functions below, so a
value means the same thing to the CLI and to both backends.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple, Protocol

ENV_PREFIX = "LLMSTRUCT_"
DEFAULT_PROJECT_ROOT = Path(__file__).resolve().parents[1]
DATABASE_RELATIVE = Path(".llmstruct") / "llmstruct.db"


class SettingsError(ValueError):
    """A configuration value is invalid; the message starts with the environment variable's name."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{ENV_PREFIX}{field.upper()}: {problem}")
        self.field = field


class HasEngineSettings(Protocol):
    """What ``Engine`` reads from its settings (``LlmstructSettings`` or ``EngineConfig``)."""

    @property
    def project_root(self) -> Path: ...

    @property
    def database(self) -> Path | str | None: ...


class EngineConfig(NamedTuple):
    """The resolved, absolute project root and database (a SQLite file, or a ``postgresql://`` URL).

    An immutable ``NamedTuple`` rather than a frozen dataclass: importing ``dataclasses`` pulls in
    ``inspect`` (~10 ms), paid on every CLI call.
    """

    project_root: Path
    database: Path | str


def resolve_project_root(value: str | Path | None) -> Path:
    """Resolve the project root to an absolute, symlink-free directory (default: this repo)."""
    if value is None or str(value).strip() == "":
        return DEFAULT_PROJECT_ROOT
    root = Path(value).expanduser().resolve()
    if not root.is_dir():
        raise ValueError(f"not an existing directory: {value}")
    return root


def resolve_database(value: str | Path | None, project_root: Path) -> Path | str:
    """The SQLite file: ``<root>/.llmstruct/llmstruct.db`` by default, a relative path under root.

    Relative to the root rather than the working directory because the CLI subprocess and the two
    backends need not share a working directory, and they must share the file. A ``postgresql://``
    (or ``postgres://``) URL is returned as a string once its syntax is checked (``engine.pgdb``); a
    bad one raises ``ValueError`` whose message shows the URL with its password redacted.
    """
    if value is None or str(value).strip() == "":
        return project_root / DATABASE_RELATIVE
    if isinstance(value, str) and value.strip().lower().startswith(
        ("postgresql://", "postgres://")
    ):
        from engine.pgdb import engine_params

        url = value.strip()
        engine_params(url)  # ValueError: "not a valid PostgreSQL URL (<redacted>): <why>"
        return url
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = project_root / path
    if path.is_dir():
        raise ValueError(f"is a directory, expected a file path: {value}")
    return path.resolve()


def engine_config(settings: HasEngineSettings) -> EngineConfig:
    """Turn any settings object into the resolved ``EngineConfig`` the engine runs on."""
    root = resolve_project_root(settings.project_root)
    return EngineConfig(project_root=root, database=resolve_database(settings.database, root))


def config_from_env(environ: Mapping[str, str] | None = None) -> EngineConfig:
    """Read ``LLMSTRUCT_PROJECT_ROOT``/``_DATABASE``, any case, like pydantic-settings."""
    source = os.environ if environ is None else environ
    env = {
        key.upper(): value for key, value in source.items() if key.upper().startswith(ENV_PREFIX)
    }
    try:
        root = resolve_project_root(env.get(f"{ENV_PREFIX}PROJECT_ROOT"))
    except ValueError as exc:
        raise SettingsError("project_root", str(exc)) from exc
    try:
        database = resolve_database(env.get(f"{ENV_PREFIX}DATABASE"), root)
    except ValueError as exc:
        raise SettingsError("database", str(exc)) from exc
    return EngineConfig(project_root=root, database=database)
