"""The llmstruct task store on a PostgreSQL that restarts under it (issue #13, item 8).

Two engines (the two backends' stores) on a server of the test's own: after a restart the next call
of each works without an error (the dead connection is replaced before anything ran on it), and
while the server is down a call fails with a one-line ``EngineError`` that never shows the password.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.config import EngineConfig
from engine.errors import EngineError
from engine.facade import Engine
from tests.support.postgres import PASSWORD, PostgresServer, running_server


@pytest.fixture
def own_server() -> Iterator[PostgresServer]:
    """A server this test may stop and start."""
    with running_server() as server:
        yield server


def test_engines_survive_a_server_restart(tmp_path: Path, own_server: PostgresServer) -> None:
    """Down: one-line error, no password; back up: the very next read and write succeed."""
    url = own_server.url()
    writer = Engine(EngineConfig(tmp_path, url))
    reader = Engine(EngineConfig(tmp_path, url))
    try:
        task = writer.create_task({"title": "before"})
        assert reader.get_task(task["id"])["title"] == "before"
        own_server.stop()
        with pytest.raises(EngineError) as down:
            reader.get_task(task["id"])
        assert down.value.message.startswith("Database error: ")
        assert "\n" not in down.value.message
        assert PASSWORD not in down.value.message
        own_server.start()
        assert writer.update_task(task["id"], {"title": "after"})["title"] == "after"
        assert reader.get_task(task["id"])["title"] == "after"
    finally:
        writer.close()
        reader.close()
