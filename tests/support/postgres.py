"""A real PostgreSQL server for tests: :mod:`bench.postgres`'s server, skipped when not installed.

The server itself (``initdb`` into a temporary directory, signals, schemas) lives in
:mod:`bench.postgres` so the benches can start one outside pytest; here it only learns to skip a
test when PostgreSQL is missing, as every test that needs it expects.

``postgres_server`` is the session fixture (one server for the whole run, about 1 s to start);
``fresh_schema_url`` hands each test a URL whose ``search_path`` is a schema of its own.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest

from bench import postgres
from bench.postgres import PASSWORD, USER, PostgresMissing

__all__ = ["PASSWORD", "USER", "PostgresServer", "fresh_schema_url", "postgres_server"]


class PostgresServer(postgres.PostgresServer):
    """:class:`bench.postgres.PostgresServer` that skips the test when PostgreSQL is missing."""

    def __init__(self, base: Path | None = None) -> None:
        try:
            super().__init__(base)
        except PostgresMissing as exc:
            pytest.skip(str(exc))


def running_server() -> contextlib.AbstractContextManager[PostgresServer]:
    """A started server of the caller's own (skips the test without PostgreSQL); removed at the
    end."""
    # bench.postgres.running_server builds the kind it is given: this subclass.
    return cast(
        contextlib.AbstractContextManager[PostgresServer], postgres.running_server(PostgresServer)
    )


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the test session."""
    with running_server() as server:
        yield server


@pytest.fixture
def fresh_schema_url(postgres_server: PostgresServer) -> str:
    """A URL whose tables land in a schema no other test uses."""
    schema = postgres_server.create_schema()
    return postgres_server.url(options=f"-csearch_path%3D{schema}")
