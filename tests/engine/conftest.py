"""Fixtures: a throw-away project under tmp_path, an Engine on a tmp database (never the repo's)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine.config import EngineConfig
from engine.facade import Engine
from tests.support.postgres import PostgresServer
from tests.support.postgres import postgres_server as postgres_server  # the fixture

SAMPLE_MODULE = '''"""Billing helpers.

More text.
"""

import os
from decimal import Decimal
from . import sibling


class Invoice(Base, metaclass=Meta):
    """An invoice to pay."""

    @property
    def total(self) -> Decimal:
        """Sum of the lines."""
        return Decimal(0)

    async def send(self, to: str, *, retries: int = 3) -> None:
        pass


@cache
def parse_invoice(text: str, strict=True) -> "Invoice":
    """Parse an invoice from text."""
    return Invoice()
'''


@pytest.fixture(autouse=True)
def _clean_llmstruct_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No LLMSTRUCT_* variable of the developer's shell leaks into a test."""
    import os

    for key in list(os.environ):
        if key.upper().startswith("LLMSTRUCT_"):
            monkeypatch.delenv(key)


def write(root: Path, rel: str, text: str) -> Path:
    """Create ``rel`` (and its directories) under ``root``."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A tiny project: a package, a broken file, docs and things the default excludes must skip."""
    root = tmp_path / "proj"
    write(root, "app/__init__.py", '"""The app."""\n')
    write(root, "app/billing.py", SAMPLE_MODULE)
    write(root, "app/users.py", "def load_user(user_id: int) -> dict:\n    return {}\n")
    write(root, "broken.py", "def oops(:\n    pass\n")
    write(root, "README.md", "# Demo\n\nhello\n")
    write(root, "config.yaml", "a: 1\n")
    write(root, ".venv/lib/site.py", "x = 1\n")
    write(root, "node_modules/pkg/index.py", "y = 2\n")
    write(root, "app/__pycache__/billing.cpython-311.py", "z = 3\n")
    write(root, "dist/thing.egg-info/setup.py", "w = 4\n")
    return root


class StepClock:
    """A fake clock that advances one second (plus a few microseconds) per call."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where the test's SQLite file lives (outside the project, so it is never scanned)."""
    return tmp_path / "state" / "llmstruct.db"


@pytest.fixture(params=["sqlite", "postgresql"])
def either_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path | str]:
    """For modules whose tests depend on the store (``db_path = either_store``): a SQLite
    file outside the project, or a PostgreSQL schema no other test uses (issue #13, item
    8). Afterwards the schema must hold the engine's tables: a URL taken for a file path
    would pass unnoticed otherwise."""
    if request.param == "sqlite":
        yield tmp_path / "state" / "llmstruct.db"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    schema = server.create_schema()
    yield server.url(options=f"-csearch_path%3D{schema}")
    assert server.has_table(schema, "tasks"), "the engine did not use PostgreSQL"


@pytest.fixture
def engine(project: Path, db_path: Path | str) -> Iterator[Engine]:
    """An Engine on the tmp project and tmp database, closed afterwards."""
    eng = Engine(EngineConfig(project_root=project, database=db_path))
    yield eng
    eng.close()
