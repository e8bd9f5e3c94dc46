"""Both llmstruct backends in-process over one tmp project and one store (a SQLite file by default).

The FastAPI app runs with the in-process bridge (``bridge_mode="inprocess"``), the custom app
with its own ``Engine``: two engines on the same file, as two server processes would be. Each
app has its own metrics (a fresh ``CollectorRegistry`` for the baseline); the body limit is
small so the 413 cases stay cheap.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry

from tests.support.postgres import PostgresServer
from tests.support.postgres import postgres_server as postgres_server  # the fixture

API_KEY = "parity-key"
MAX_BODY = 4096

PYPROJECT = """\
[project]
name = "parity-sample"
version = "1.2.3"
description = "A tiny project both backends scan"
"""

MODULE_A = '''\
"""Module a."""


class Greeter:
    """Says hello."""

    def greet(self, name: str) -> str:
        return f"hello {name}"


def add(a: int, b: int = 2) -> int:
    return a + b
'''

MODULE_B = '''\
"""Module b: uses a."""

from pkg.a import add


async def twice(value: int) -> int:
    return add(value, value)
'''


def make_project(root: Path) -> Path:
    """Write a small project: pyproject, a package, a syntax error, docs
    and a symlink out of the root."""
    (root / "pkg").mkdir(parents=True)
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "pkg" / "__init__.py").write_text('"""The sample package."""\n')
    (root / "pkg" / "a.py").write_text(MODULE_A)
    (root / "pkg" / "b.py").write_text(MODULE_B)
    (root / "broken.py").write_text("def broken(:\n    pass\n")
    (root / "README.md").write_text("# sample\n\nTwo modules.\n")
    (root / "config.yaml").write_text("key: value\n")
    outside = root.parent / "outside"
    outside.mkdir(exist_ok=True)
    (outside / "secret.py").write_text("SECRET = 1\n")
    os.symlink(outside, root / "escape")
    return root


@dataclass(frozen=True)
class Backends:
    """The two in-process clients and what they share."""

    fastapi: httpx.AsyncClient
    custom: httpx.AsyncClient
    root: Path
    database: Path | str
    fastapi_app: Any
    custom_app: Any

    def pair(self) -> tuple[tuple[str, httpx.AsyncClient], ...]:
        """``(name, client)`` for both, baseline first."""
        return (("fastapi", self.fastapi), ("custom", self.custom))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A fresh sample project under ``tmp_path/project``."""
    return make_project(tmp_path / "project")


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path | str]:
    """The store both apps share, each test twice (issue #13, item 8): a SQLite file, then a
    PostgreSQL schema of the test's own on the session's real server
    (``tests.support.postgres``), which must hold the engine's tables afterwards (a URL taken for
    a file path would pass unnoticed otherwise)."""
    if request.param == "sqlite":
        yield tmp_path / "shared.db"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    schema = server.create_schema()
    yield server.url(options=f"-csearch_path%3D{schema}")
    assert server.has_table(schema, "tasks"), "the backends did not use PostgreSQL"


@pytest.fixture
def settings(project: Path, database: Path | str) -> Any:
    """Settings shared by both apps: same root, same database, same key."""
    from engine.settings import LlmstructSettings

    return LlmstructSettings(
        api_key=API_KEY,
        project_root=project,
        database=database,
        bridge_mode="inprocess",
        max_body_bytes=MAX_BODY,
    )


@pytest.fixture
def logging_reset() -> Iterator[None]:
    """Leave both backends' logging configuration as it was
    (structlog's; ``custom_backend.logs``)."""
    import structlog

    from custom_backend import logs

    saved = structlog.get_config()
    yield
    structlog.configure(**saved)
    logs.reset_defaults()


@pytest.fixture
async def backends(settings: Any, logging_reset: None) -> AsyncIterator[Backends]:
    """Both apps behind ``httpx.ASGITransport`` (no lifespan: the owned
    resources are closed here)."""
    from custom_backend.app import create_app as create_custom_app
    from fastapi_backend.app import create_app as create_fastapi_app

    fastapi_app = create_fastapi_app(settings, registry=CollectorRegistry())
    custom_app = create_custom_app(settings)
    fastapi_client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=fastapi_app), base_url="http://testserver"
    )
    custom_client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=custom_app), base_url="http://testserver"
    )
    try:
        yield Backends(
            fastapi_client,
            custom_client,
            settings.project_root,
            settings.database,
            fastapi_app,
            custom_app,
        )
    finally:
        await fastapi_client.aclose()
        await custom_client.aclose()
        await fastapi_app.state.llmstruct_bridge.aclose()
        custom_app.close()
