"""Config watchers: LISTEN on a real PostgreSQL (woken by another member, back after a restart)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from migration.cluster.config_watch import (
    PostgresConfigWatcher,
    SleepingConfigWatcher,
    open_config_watcher,
)
from migration.cluster.testing import FakeConfigWatcher, InMemoryClusterStore
from migration.store_postgres import PostgresStore
from migration.store_sql import StateStoreError
from migration.testing import FakeClock
from tests.support.postgres import (  # noqa: F401 - fixture
    fresh_schema_url,
    postgres_server,
    running_server,
)


@pytest.fixture
def url(request: pytest.FixtureRequest) -> str:
    """A URL into a schema of this test's own (see ``fresh_schema_url``)."""
    return str(request.getfixturevalue("fresh_schema_url"))


async def update_from_another_member(url: str, key: str) -> None:
    """A config update through a store of its own, off the event loop (as another replica)."""

    def update() -> None:
        store = PostgresStore(url)
        try:
            store.update_config(lambda data: {**data, "shadow": {key: 1.0}})
        finally:
            store.close()

    await asyncio.to_thread(update)


async def woken_by_update(watcher: PostgresConfigWatcher, url: str, key: str) -> float:
    """Seconds from an update by another member to the waiting watcher waking (or a failure)."""
    waiting = asyncio.create_task(watcher.wait(5.0))
    await asyncio.sleep(0)  # the waiter is registered before the update is sent
    started = time.monotonic()
    await update_from_another_member(url, key)
    assert await waiting, "no notification within 5 s"
    return time.monotonic() - started


def test_a_file_store_gets_a_sleeping_watcher_and_a_url_a_listening_one(
    url: str, tmp_path: Path
) -> None:
    """open_config_watcher: a Path sleeps (SQLite has no LISTEN), a URL listens."""
    assert isinstance(open_config_watcher(tmp_path / "m.db"), SleepingConfigWatcher)
    watcher = open_config_watcher(url)
    try:
        assert isinstance(watcher, PostgresConfigWatcher)
    finally:
        watcher.close()


async def test_the_sleeping_watcher_only_times_out() -> None:
    """SQLite's watcher: every wait is a timeout, answered False."""
    watcher = SleepingConfigWatcher()
    assert await watcher.wait(0.01) is False
    watcher.close()


async def test_an_update_by_another_member_wakes_a_waiter_within_a_second(
    url: str,
) -> None:
    """LISTEN/NOTIFY: a waiting watcher wakes within 1 s of another store's update_config."""
    watcher = PostgresConfigWatcher(url)
    try:
        assert await asyncio.to_thread(watcher.listening.wait, 10.0)
        assert await watcher.wait(0.0) is True  # the first LISTEN counts: anything may have changed
        assert await watcher.wait(0.0) is False
        assert await woken_by_update(watcher, url, "a") < 1.0
    finally:
        watcher.close()


async def test_a_notice_while_nobody_waits_is_kept_for_the_next_wait(url: str) -> None:
    """An update between two waits makes the next wait return True at once, once."""
    watcher = PostgresConfigWatcher(url)
    try:
        assert await asyncio.to_thread(watcher.listening.wait, 10.0)
        await watcher.wait(0.0)
        await update_from_another_member(url, "b")
        assert await watcher.wait(5.0) is True
        assert await watcher.wait(0.0) is False
    finally:
        watcher.close()


async def test_the_watcher_listens_again_after_the_server_restarts() -> None:
    """A server restart breaks the connection; the watcher reconnects, says so, and wakes again."""
    with running_server() as server:
        url = server.url()
        watcher = PostgresConfigWatcher(url, max_backoff_s=0.2)
        try:
            assert await asyncio.to_thread(watcher.listening.wait, 10.0)
            await watcher.wait(0.0)
            await asyncio.to_thread(server.stop)
            await asyncio.to_thread(server.start)
            assert await watcher.wait(10.0) is True  # the reconnection's own notice
            assert watcher.connections == 2
            assert await woken_by_update(watcher, url, "c") < 1.0
        finally:
            watcher.close()


async def test_the_fake_watcher_is_woken_by_the_fake_stores_updates() -> None:
    """FakeConfigWatcher: an update of any member wakes it; a notice is kept until the next wait."""
    store = InMemoryClusterStore(FakeClock())
    watcher = store.watcher()
    assert isinstance(watcher, FakeConfigWatcher)
    assert await watcher.wait(0.0) is False
    store.member().update_config(lambda d: d)
    assert await watcher.wait(0.0) is True
    assert await watcher.wait(0.0) is False
    waiting = asyncio.create_task(watcher.wait(5.0))
    await asyncio.sleep(0)
    store.update_config(lambda d: d)
    assert await waiting is True


def test_closing_a_watcher_stops_its_thread(url: str) -> None:
    """close() ends the listening thread (it looks up every half second) and is idempotent."""
    watcher = PostgresConfigWatcher(url)
    assert watcher.listening.wait(10.0)
    watcher.close()
    watcher.close()
    assert not watcher._thread.is_alive()


def test_a_bad_url_is_refused_at_once() -> None:
    """A malformed URL fails like the store's (StateStoreError), before any thread starts."""
    with pytest.raises(StateStoreError, match="bad port"):
        PostgresConfigWatcher("postgresql://h:99999/db")
