"""The ClusterStore contract, one suite for SQLite, PostgreSQL (real server) and the in-memory fake.

Every ``opener()`` call is another member: a new connection (or a new view of the fake) over the
same fresh database, with a fence of its own. Time passes through :func:`pass_time`: SQL stores get
their stored times moved back (the database clock cannot be moved), the fake its clock moved on.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from migration.cluster.seams import ConfigSnapshot, Fence, FencedOut, Lease
from migration.cluster.store import ClusterSqlStore
from migration.cluster.testing import InMemoryClusterStore
from migration.plan import Plan, Step
from migration.state import Event, MigrationState, Phase
from migration.store import SQLiteStore
from migration.store_postgres import PostgresStore
from migration.store_sql import StateStoreError
from migration.testing import FakeClock
from tests.support.postgres import PostgresServer, postgres_server  # noqa: F401 - fixture

Store = ClusterSqlStore | InMemoryClusterStore
Opener = Callable[..., Store]

STATE = MigrationState("api", Plan("api", (Step(1000),)), Phase.RUNNING, 0, 1000, 0.0)


def event(kind: str) -> Event:
    return Event("api", 1.0, kind, Phase.RUNNING, 0, 1000, ("why",))


@pytest.fixture(params=["sqlite", "postgres", "memory"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens members on one fresh database; closes them after."""
    opened: list[SQLiteStore | PostgresStore] = []
    if request.param == "memory":
        shared = InMemoryClusterStore(FakeClock())
        yield lambda **kw: shared.member()
        return
    if request.param == "sqlite":
        path = tmp_path / "m.db"

        def open_sqlite(**kw: Any) -> Store:
            opened.append(SQLiteStore(path, **kw))
            return opened[-1]

        yield open_sqlite
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        url = server.url(options=f"-csearch_path%3D{server.create_schema()}")

        def open_postgres(**kw: Any) -> Store:
            opened.append(PostgresStore(url, **kw))
            return opened[-1]

        yield open_postgres
    for store in opened:
        store.close()


def pass_time(store: Store, seconds: float) -> None:
    """``seconds`` pass for the lease and the heartbeats."""
    if isinstance(store, InMemoryClusterStore):
        clock = store._tables.clock
        assert isinstance(clock, FakeClock)
        clock.advance(seconds)
        return
    store._transaction(
        lambda x: [
            x(
                store.dialect.sql("UPDATE cluster_lease SET expires_at = expires_at - ?"),
                (seconds,),
            ),
            x(store.dialect.sql("UPDATE cluster_replica SET seen_at = seen_at - ?"), (seconds,)),
        ]
    )


def sql_only(store: Store) -> ClusterSqlStore:
    if not isinstance(store, ClusterSqlStore):
        pytest.skip("SQL only")
    return store


# -- the clock -------------------------------------------------------------------------------------


def test_db_time_is_the_databases_clock(opener: Opener) -> None:
    """db_time is seconds since the epoch (the real databases agree with this host within 5 s)."""
    store = opener()
    if isinstance(store, InMemoryClusterStore):
        assert store.db_time() == FakeClock().now
    else:
        assert abs(store.db_time() - time.time()) < 5.0


# -- the lease -------------------------------------------------------------------------------------


def test_the_first_member_takes_the_lease_and_the_others_are_refused(opener: Opener) -> None:
    """Epoch 1 for the first taker; another member sees it held, with the time left."""
    a, b = opener(), opener()
    assert a.read_lease() == Lease(None, 0, False, 0.0)
    got = a.acquire_lease("a", 10.0)
    assert (got.holder, got.epoch, got.held) == ("a", 1, True)
    assert 9.0 < got.remaining_s <= 10.0
    refused = b.acquire_lease("b", 10.0)
    assert (refused.holder, refused.epoch, refused.held) == ("a", 1, False)
    assert 0.0 < refused.remaining_s <= 10.0
    read = b.read_lease()
    assert (read.holder, read.epoch, read.held) == ("a", 1, False)


def test_the_holder_renews_with_the_same_epoch(opener: Opener) -> None:
    """A renewal before expiry keeps the epoch and pushes the expiry out."""
    a = opener()
    a.acquire_lease("a", 10.0)
    pass_time(a, 8.0)
    assert a.read_lease().remaining_s < 2.5
    renewed = a.acquire_lease("a", 10.0)
    assert (renewed.epoch, renewed.held) == (1, True)
    assert a.read_lease().remaining_s > 9.0


def test_an_expired_lease_is_taken_over_with_the_next_epoch(opener: Opener) -> None:
    """After expiry another member takes it at epoch 2; the old holder is then refused."""
    a, b = opener(), opener()
    a.acquire_lease("a", 10.0)
    pass_time(a, 10.5)
    assert a.read_lease().remaining_s <= 0
    taken = b.acquire_lease("b", 10.0)
    assert (taken.holder, taken.epoch, taken.held) == ("b", 2, True)
    late = a.acquire_lease("a", 10.0)
    assert (late.holder, late.epoch, late.held) == ("b", 2, False)


def test_a_holder_back_after_its_own_expiry_gets_a_new_epoch(opener: Opener) -> None:
    """Nobody took the expired lease: its holder gets it again, but at epoch + 1."""
    a = opener()
    a.acquire_lease("a", 10.0)
    pass_time(a, 11.0)
    again = a.acquire_lease("a", 10.0)
    assert (again.holder, again.epoch, again.held) == ("a", 2, True)


def test_release_lets_another_member_take_it_at_once(opener: Opener) -> None:
    """Releasing the right epoch expires the lease now; a wrong epoch or holder changes nothing."""
    a, b = opener(), opener()
    a.acquire_lease("a", 10.0)
    a.release_lease("a", 7)
    b.release_lease("b", 1)
    assert b.acquire_lease("b", 10.0).held is False
    a.release_lease("a", 1)
    released = b.read_lease()
    assert (released.holder, released.epoch) == ("a", 1)  # the holder stays for the record
    assert released.remaining_s <= 0
    taken = b.acquire_lease("b", 10.0)
    assert (taken.holder, taken.epoch, taken.held) == ("b", 2, True)


# -- fencing ---------------------------------------------------------------------------------------


def test_a_deposed_leader_writes_nothing(opener: Opener) -> None:
    """commit, save_weight, fenced update_config of an old epoch raise FencedOut, write nothing."""
    a, b = opener(), opener()
    lease = a.acquire_lease("a", 10.0)
    a.fence = Fence("a", lease.epoch)
    a.commit(STATE, [event("started")])
    a.update_config(lambda d: {**d, "weights": {"api": 1}}, fenced=True)
    pass_time(a, 11.0)
    b.acquire_lease("b", 10.0)
    with pytest.raises(FencedOut, match="epoch 2 of b"):
        a.commit(STATE.with_(step_index=1, weight_bps=5000), [event("promoted")])
    with pytest.raises(FencedOut):
        a.save_weight("web", 9000, [event("weight_set")])
    with pytest.raises(FencedOut):
        a.update_config(lambda d: {**d, "weights": {"api": 2}}, fenced=True)
    assert b.load("api") == STATE
    assert [e.kind for e in b.events()] == ["started"]
    assert b.load_weights() == {}
    config = b.read_config()
    assert config is not None
    assert (config.version, config.data["weights"]) == (1, {"api": 1})


def test_the_new_leader_writes_with_its_fence(opener: Opener) -> None:
    """The member holding its fence's epoch writes normally; an unfenced config always writes."""
    a, b = opener(), opener()
    a.acquire_lease("a", 10.0)
    pass_time(a, 11.0)
    b.fence = Fence("b", b.acquire_lease("b", 10.0).epoch)
    b.commit(STATE, [event("started")])
    b.save_weight("web", 100)
    a.update_config(lambda d: {**d, "shadow": {"api": 5}})  # an operator's change, not fenced
    assert a.load("api") == STATE
    assert a.load_weights() == {"web": 100}


def test_a_fence_without_any_lease_row_is_fenced_out(opener: Opener) -> None:
    """A fence naming a lease nobody granted refuses the write."""
    a = opener()
    a.fence = Fence("a", 1)
    with pytest.raises(FencedOut, match="no lease"):
        a.commit(STATE)
    a.fence = None
    a.commit(STATE)  # no fence: today's single-process store
    assert a.load("api") == STATE


# -- the config snapshot ---------------------------------------------------------------------------


def test_config_versions_count_up_from_an_empty_snapshot(opener: Opener) -> None:
    """None before the first update; each update is version + 1 over the previous data."""
    a, b = opener(), opener()
    assert a.read_config() is None
    seen: list[dict[str, Any]] = []

    def first(data: dict[str, Any]) -> dict[str, Any]:
        seen.append(json.loads(json.dumps(data)))
        data["weights"]["api"] = {"bps": 1000, "actor": "admin", "reason": None}
        return data

    assert a.update_config(first).version == 1
    assert seen == [{"weights": {}, "faults": {}, "shadow": {}}]
    second = b.update_config(lambda d: {**d, "shadow": {"api": 10.0}})
    assert second == ConfigSnapshot(
        2,
        {
            "weights": {"api": {"bps": 1000, "actor": "admin", "reason": None}},
            "faults": {},
            "shadow": {"api": 10.0},
        },
    )
    assert a.read_config() == second


def test_a_failing_change_writes_no_version(opener: Opener) -> None:
    """An exception from ``change`` (or data JSON cannot hold) leaves the snapshot as it was."""
    a = opener()
    a.update_config(lambda d: {**d, "faults": {"candidate": None}})

    def broken(data: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("no")

    with pytest.raises(RuntimeError, match="no"):
        a.update_config(broken)
    with pytest.raises(TypeError):
        a.update_config(lambda d: {**d, "x": object()})
    config = a.read_config()
    assert config is not None
    assert config.version == 1


def test_concurrent_config_updates_lose_nothing(opener: Opener) -> None:
    """Two members updating 50 times each at once: version 100, all 100 keys present."""
    first = sql_only(opener())
    extra = {"call_timeout_s": 5.0} if isinstance(first, PostgresStore) else {}

    def add(key: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
        return lambda data: {**data, "shadow": {**data["shadow"], key: 1.0}}

    def updater(prefix: str) -> None:
        store = opener(**extra)
        for i in range(50):
            while True:
                try:
                    store.update_config(add(f"{prefix}{i}"))
                    break
                except sqlite3.OperationalError:
                    continue  # a busy SQLite file: BEGIN IMMEDIATE failed, nothing was begun

    threads = [threading.Thread(target=updater, args=(prefix,)) for prefix in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    config = first.read_config()
    assert config is not None
    assert config.version == 100
    assert len(config.data["shadow"]) == 100


# -- heartbeats ------------------------------------------------------------------------------------


def test_heartbeats_are_listed_by_name_with_their_age(opener: Opener) -> None:
    """Each member's newest info, sorted by name, aged by the database clock, filtered by age."""
    a, b = opener(), opener()
    b.heartbeat("r2", {"config_version": 1})
    a.heartbeat("r1", {"config_version": 0})
    a.heartbeat("r1", {"config_version": 3})
    rows = b.replicas()
    assert [(r.replica, r.info) for r in rows] == [
        ("r1", {"config_version": 3}),
        ("r2", {"config_version": 1}),
    ]
    assert all(0.0 <= r.age_s < 5.0 for r in rows)
    pass_time(a, 30.0)
    a.heartbeat("r1", {"config_version": 4})
    fresh = a.replicas(max_age_s=10.0)
    assert [r.replica for r in fresh] == ["r1"]
    assert [r.age_s >= 29.0 for r in a.replicas() if r.replica == "r2"] == [True]


def test_members_silent_for_an_hour_are_forgotten(opener: Opener) -> None:
    """A heartbeat deletes the rows of members not heard from for more than an hour."""
    a = opener()
    a.heartbeat("gone", {})
    pass_time(a, 3601.0)
    assert [r.replica for r in a.replicas(max_age_s=1e9)] == ["gone"]
    a.heartbeat("here", {})
    assert [r.replica for r in a.replicas(max_age_s=1e9)] == ["here"]


# -- evidence --------------------------------------------------------------------------------------


def test_evidence_is_ordered_by_id_and_replaced_by_key(opener: Opener) -> None:
    """A key published again with another payload (a newer partial, the completed bucket) is
    replaced under a new, higher id; with the same payload (a resend) nothing changes; rows come
    back by id, paged by last id."""
    a, b = opener(), opener()
    a.publish_evidence("r1", [("api", 100, "p1"), ("web", 100, "w1")])
    b.publish_evidence("r2", [("api", 100, "q1")])
    before = b.evidence_after(0)
    a.publish_evidence("r1", [("api", 100, "again"), ("api", 101, "p2"), ("web", 100, "w1")])
    a.publish_evidence("r1", [])
    rows = b.evidence_after(0)
    assert [(r.replica, r.route, r.tag, r.payload) for r in rows] == [
        ("r1", "web", 100, "w1"),
        ("r2", "api", 100, "q1"),
        ("r1", "api", 100, "again"),
        ("r1", "api", 101, "p2"),
    ]
    ids = [r.id for r in rows]
    assert ids == sorted(ids)
    assert rows[:2] == before[1:]  # the unchanged rows kept their ids
    assert b.evidence_after(before[-1].id) == rows[2:]  # a reader paging by id sees the new one
    assert b.evidence_after(ids[1], limit=1) == [rows[2]]
    assert b.evidence_after(ids[-1]) == []


def test_evidence_is_pruned_by_tag(opener: Opener) -> None:
    """prune_evidence drops buckets older than the tag; a pruned key may be published again."""
    a = opener()
    a.publish_evidence("r1", [("api", 100, "old"), ("api", 101, "new")])
    a.prune_evidence(101)
    assert [r.payload for r in a.evidence_after(0)] == ["new"]
    a.publish_evidence("r1", [("api", 100, "back")])
    assert [r.payload for r in a.evidence_after(0)] == ["new", "back"]


def test_many_evidence_rows_go_in_one_call(opener: Opener) -> None:
    """More rows than one INSERT statement holds are all stored."""
    # Batching, not speed: a busy CI host took PostgreSQL past the 0.25 s fail-fast call timeout.
    a = opener()
    if isinstance(a, PostgresStore):
        a.close()
        a = opener(call_timeout_s=5.0)
    a.publish_evidence("r1", [("api", tag, "x") for tag in range(1234)])
    assert len(a.evidence_after(0, limit=5000)) == 1234


# -- the store being down (the fake's switch) ------------------------------------------------------


def test_the_fake_store_down_raises_state_store_errors_for_every_member() -> None:
    """``down`` on one member makes every call of every member raise StateStoreError."""
    a = InMemoryClusterStore(FakeClock())
    b = a.member()
    a.down = True
    for call in (b.read_config, b.read_lease, lambda: b.load("api"), lambda: b.commit(STATE)):
        with pytest.raises(StateStoreError):
            call()
    b.down = False
    b.commit(STATE)
    assert a.load("api") == STATE
