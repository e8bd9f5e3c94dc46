"""The engine's PostgreSQL store: start-up errors of both backends and the CLI, and the version row.

Bad input is tested as the operator meets it: ``python -m custom_backend`` / ``python -m
fastapi_backend`` / the ``llmstruct`` CLI with ``LLMSTRUCT_DATABASE`` set, an exit code and one line
naming the variable, never the password.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from custom_backend.cache import open_data_version
from engine.config import EngineConfig, SettingsError, config_from_env
from engine.facade import Engine
from engine.pgdb import PostgresDataVersion
from tests.support.postgres import PASSWORD, PostgresServer
from tests.support.postgres import postgres_server as postgres_server  # the fixture
from tests.support.servers import free_port

SECRET = "pw-not-in-any-output"
BACKENDS = ["custom_backend", "fastapi_backend"]


def _start(module: str, database: str, root: Path) -> subprocess.CompletedProcess[str]:
    env = {
        key: value for key, value in os.environ.items() if not key.upper().startswith("LLMSTRUCT_")
    }
    env |= {"LLMSTRUCT_DATABASE": database, "LLMSTRUCT_PROJECT_ROOT": str(root)}
    argv = [sys.executable, "-m", module, "--port", str(free_port())]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30, check=False)


@pytest.mark.parametrize("module", BACKENDS)
def test_a_malformed_url_stops_the_start_naming_the_variable(module: str, tmp_path: Path) -> None:
    """A bad URL: exit 2 and one line naming LLMSTRUCT_DATABASE, the URL shown redacted."""
    done = _start(module, f"postgresql://u:{SECRET}@127.0.0.1:99999/db", tmp_path)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "invalid settings: LLMSTRUCT_DATABASE: not a valid PostgreSQL URL"
        " (postgresql://u:***@127.0.0.1:99999/db): bad port '99999'"
    ]
    assert SECRET not in done.stdout + done.stderr


@pytest.mark.parametrize("module", BACKENDS)
def test_a_refused_password_stops_the_start_in_one_line(
    module: str, tmp_path: Path, postgres_server: PostgresServer
) -> None:
    """Authentication failure: exit 1, one line naming the variable and the cause, no password."""
    done = _start(module, postgres_server.url(password=SECRET), tmp_path)
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert line.startswith(
        "cannot start: LLMSTRUCT_DATABASE: Cannot open the database postgresql://"
    )
    assert "password authentication failed" in line
    assert SECRET not in done.stdout + done.stderr


def test_an_unreachable_database_stops_the_start_in_one_line(tmp_path: Path) -> None:
    """Nothing listening: exit 1 and one line (connection refused), no password."""
    done = _start("custom_backend", f"postgresql://u:{SECRET}@127.0.0.1:{free_port()}/db", tmp_path)
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert line.startswith("cannot start: LLMSTRUCT_DATABASE: ")
    assert "refused" in line
    assert SECRET not in line


def test_the_cli_reads_the_url_and_redacts_it(tmp_path: Path) -> None:
    """The CLI's own reader keeps a URL (a Path folds its "//") and never shows its password."""
    url = f"postgresql://u:{SECRET}@db.example:5432/app?sslmode=require"
    config = config_from_env({"LLMSTRUCT_DATABASE": url, "LLMSTRUCT_PROJECT_ROOT": str(tmp_path)})
    assert config.database == url
    with pytest.raises(SettingsError, match=r"^LLMSTRUCT_DATABASE: not a valid") as caught:
        config_from_env({"LLMSTRUCT_DATABASE": f"postgres://u:{SECRET}@h:0/db"})
    assert SECRET not in str(caught.value)


def test_version_row_moves_on_every_write_of_any_engine(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    """The cache's token on PostgreSQL changes with every committed write, from any connection."""
    url = postgres_server.url(options=f"-csearch_path%3D{postgres_server.create_schema()}")
    writer = Engine(EngineConfig(tmp_path, url))
    version = open_data_version(url)
    try:
        assert isinstance(version, PostgresDataVersion)
        first = version.current()
        assert first is not None
        writer.list_tasks()
        assert version.current() == first  # reads do not move it
        task = writer.create_task({"title": "x"})
        second = version.current()
        assert second is not None
        assert second > first
        writer.delete_task(task["id"])
        assert version.current() != second
    finally:
        version.close()
        writer.close()


def test_version_source_answers_none_while_the_database_is_down(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Unreachable: None (the caller computes the answer), one connect attempt a second at most."""
    now = [100.0]
    attempts: list[float] = []
    real_connect = psycopg.connect

    def counting_connect(*args: object, **kwargs: object) -> object:
        attempts.append(now[0])
        return real_connect(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(psycopg, "connect", counting_connect)
    version = PostgresDataVersion(
        f"postgresql://u:{PASSWORD}@127.0.0.1:{free_port()}/db", clock=lambda: now[0]
    )
    assert version.current() is None
    assert version.current() is None  # no second attempt within the second (it blocks the loop)
    assert attempts == [100.0]
    now[0] += 1.5
    assert version.current() is None
    assert attempts == [100.0, 101.5]
    version.close()
