"""Fencing under a real race: a leader writing flat out while another member takes its lease over.

Both SQL stores, each member on a connection of its own. A write either commits before the new
epoch is granted or raises FencedOut: the state the new leader reads right after its takeover is the
last write the old leader saw succeed, and stays so however long the old leader keeps trying.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from migration.cluster.seams import Fence, FencedOut
from migration.cluster.store import ClusterSqlStore
from migration.plan import Plan, Step
from migration.state import Event, MigrationState, Phase
from migration.store import SQLiteStore
from migration.store_postgres import PostgresStore
from migration.store_sql import StateStoreError
from tests.support.postgres import PostgresServer, postgres_server  # noqa: F401 - fixture

T = TypeVar("T")

STATE = MigrationState("api", Plan("api", (Step(1000),)), Phase.RUNNING, 0, 1000, 0.0)
TTL_S = 0.2
ROUNDS = 10
#: Statements after the fence check widen the window a broken fence would lose the race in.
EVENTS = tuple(Event("api", 0.0, "tick", Phase.RUNNING, 0, 1000, ("race",)) for _ in range(4))


@pytest.fixture(params=["sqlite", "postgres"])
def members(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[list[SQLiteStore | PostgresStore]]:
    """Two members on one fresh database."""
    opened: list[SQLiteStore | PostgresStore] = []
    if request.param == "sqlite":
        for _ in range(2):
            opened.append(SQLiteStore(tmp_path / "m.db"))
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        url = server.url(options=f"-csearch_path%3D{server.create_schema()}")
        for _ in range(2):
            opened.append(PostgresStore(url, call_timeout_s=5.0))
    yield opened
    for store in opened:
        store.close()


def retrying(call: Callable[..., T], *args: Any) -> T:
    """``call(*args)`` again while the database is busy (a lock wait that timed out rolled back)."""
    while True:
        try:
            return call(*args)
        except (sqlite3.OperationalError, StateStoreError):
            continue


def write_until_fenced(store: ClusterSqlStore, first: int, landed: list[int]) -> None:
    """Commit step_requests = first, first + 1, ... until fenced out; record each success."""
    value = first
    while True:
        try:
            store.commit(STATE.with_(step_requests=value), EVENTS)
        except FencedOut:
            return
        except (sqlite3.OperationalError, StateStoreError):
            continue
        landed.append(value)
        value += 1


def test_no_write_of_an_old_epoch_lands_after_a_takeover(
    members: list[SQLiteStore | PostgresStore],
) -> None:
    """Ten takeovers racing flat-out commits: the last write is always one the writer saw land."""
    value = 0
    for round_ in range(ROUNDS):
        writer, taker = members[round_ % 2], members[(round_ + 1) % 2]
        lease = retrying(writer.acquire_lease, f"m{id(writer)}", TTL_S)
        assert lease.held
        writer.fence = Fence(f"m{id(writer)}", lease.epoch)
        landed: list[int] = []
        thread = threading.Thread(
            target=write_until_fenced, args=(writer, value, landed), daemon=True
        )
        thread.start()
        while not retrying(taker.acquire_lease, f"m{id(taker)}", TTL_S).held:
            pass  # the writer does not renew: its lease runs out by the database clock
        seen = retrying(taker.load, "api")
        thread.join(timeout=10)
        assert not thread.is_alive()
        assert landed, "the writer never wrote before it was deposed"
        assert seen is not None
        assert seen.step_requests == landed[-1]
        assert retrying(taker.load, "api") == seen
        value = landed[-1] + 1
    final = members[0].read_lease()
    assert final.epoch == ROUNDS + 1
