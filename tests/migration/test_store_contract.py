"""The StateStore contract, one suite for every store: SQLite, PostgreSQL (real server) and the
fake.

Each test gets a fresh database (an SQLite file, or a PostgreSQL schema of its own). Tests that need
SQL (schema versions, a failure inside a transaction) skip the in-memory fake.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from migration.cluster.store import ClusterSqlStore
from migration.plan import Plan, Step
from migration.state import Event, MigrationState, Phase, SavedEvidence, Snapshot
from migration.store import SQLiteStore, StateStore, StateStoreError
from migration.store_postgres import PostgresStore
from migration.store_sql import SCHEMA_VERSION, Execute, SqlStore
from migration.testing import InMemoryStore
from tests.support.postgres import PostgresServer, postgres_server  # noqa: F401 - fixture

PLAN = Plan("api", (Step(0), Step(1000, 30.0, 50, gate=True), Step(10_000)))

Opener = Callable[..., Any]


def state(route: str = "api", **changes: object) -> MigrationState:
    base = MigrationState(
        route, PLAN, Phase.RUNNING, 1, 1000, 100.0, 2.5, 101.0, 42, 1, "hold", 110.0
    )
    return base.with_(**changes)


def event(kind: str, at: float = 1.0, route: str = "api") -> Event:
    return Event(route, at, kind, Phase.RUNNING, 1, 1000, ("why",), {"latency_p95": {"p": 0.5}})


@pytest.fixture(params=["sqlite", "postgres", "memory"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens stores on one fresh database (each call a new connection); closes them after."""
    opened: list[Any] = []
    if request.param == "memory":
        shared = InMemoryStore(max_snapshots=3, max_events=4)
        yield lambda **kw: shared
        return
    if request.param == "sqlite":
        path = tmp_path / "m.db"

        def open_sqlite(**kw: Any) -> SQLiteStore:
            store = SQLiteStore(path, **{"max_snapshots": 3, "max_events": 4, **kw})
            opened.append(store)
            return store

        yield open_sqlite
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        url = server.url(options=f"-csearch_path%3D{server.create_schema()}")

        def open_postgres(**kw: Any) -> PostgresStore:
            store = PostgresStore(url, **{"max_snapshots": 3, "max_events": 4, **kw})
            opened.append(store)
            return store

        yield open_postgres
    for store in opened:
        store.close()


@pytest.fixture
def store(opener: Opener) -> StateStore:
    made: StateStore = opener()
    return made


def sql_store(opener: Opener) -> SqlStore:
    made = opener()
    if not isinstance(made, SqlStore):
        pytest.skip("the in-memory fake has no SQL schema")
    return made


def test_round_trip(store: StateStore) -> None:
    """State, events and snapshots come back equal to what was committed."""
    snap = Snapshot("api", 5.0, 1000, "hold", 0.04, 0.05, 0.0, 0.01, 100, 10)
    store.commit(state(), [event("started")], snap)
    assert store.load("api") == state()
    assert store.load_all() == [state()]
    assert store.events("api") == [event("started")]
    assert store.events() == [event("started")]
    assert store.snapshots("api") == [snap]
    assert store.load("other") is None
    store.commit(state(step_requests=7))
    assert store.load("api") == state(step_requests=7)  # an upsert, not a second row
    assert len(store.load_all()) == 1


def test_history_is_bounded_per_route(store: StateStore) -> None:
    """Snapshots and events keep only the newest N per route; other routes keep theirs."""
    store.commit(state("other"), [event("o1", route="other")], Snapshot("other", 0.5, 0, "hold"))
    for i in range(10):
        snap = Snapshot("api", float(i), 1000, "hold")
        store.commit(state(), [event(f"e{i}", float(i))], snap)
    assert [s.at for s in store.snapshots("api")] == [7.0, 8.0, 9.0]
    assert [e.kind for e in store.events("api")] == ["e6", "e7", "e8", "e9"]
    assert [e.kind for e in store.events("api", limit=2)] == ["e8", "e9"]
    assert [e.kind for e in store.events("other")] == ["o1"]
    assert [s.at for s in store.snapshots("other")] == [0.5]
    assert [e.kind for e in store.events(limit=3)] == ["e7", "e8", "e9"]


def test_old_snapshots_are_thinned_to_one_per_bucket(store: StateStore) -> None:
    """Snapshots over 15 minutes older than the newest keep the first of each 10 s bucket."""
    for at in (0.0, 3.0, 12.0, 2000.0):
        store.commit(state(), (), Snapshot("api", at, 1000, "hold"))
    assert [s.at for s in store.snapshots("api")] == [0.0, 12.0, 2000.0]


def test_events_come_back_in_commit_order_across_routes(store: StateStore) -> None:
    """events() is the order of the commits (not of the events' times), oldest first."""
    store.commit(state("b"), [event("b1", at=9.0, route="b"), event("b2", at=1.0, route="b")])
    store.save_weight("c", 500, [event("c1", at=5.0, route="c")])
    store.commit(state("a"), [event("a1", at=2.0, route="a")])
    assert [e.kind for e in store.events()] == ["b1", "b2", "c1", "a1"]
    assert [s.route for s in store.load_all()] == ["a", "b"]


def test_manual_weights_round_trip_with_their_events(store: StateStore) -> None:
    """save_weight stores a route's weight and its events; a later save overwrites the weight."""
    ev = Event("api", 1.0, "weight_set", Phase.PENDING, 0, 3000, ("by admin",))
    store.save_weight("api", 3000, [ev])
    store.save_weight("api", 2500)
    store.save_weight("web", 0)
    assert store.load_weights() == {"api": 2500, "web": 0}
    assert store.events("api") == [ev]
    assert store.load("api") is None  # a manual weight is not a migration


def test_a_second_connection_sees_what_was_committed(opener: Opener) -> None:
    """Committed rows are in the database, not in the store object: a new store reads them."""
    first = opener()
    first.commit(state(phase=Phase.AWAITING_GATE), [event("awaiting_gate")])
    first.save_weight("web", 1200)
    second = opener()
    loaded = second.load("api")
    assert loaded is not None
    assert loaded.phase is Phase.AWAITING_GATE
    assert loaded.plan.steps[1].gate
    assert second.load_weights() == {"web": 1200}
    assert [e.kind for e in second.events()] == ["awaiting_gate"]


def test_a_failed_commit_leaves_nothing_behind(opener: Opener) -> None:
    """A statement failing after the state and events were written rolls all of them back."""
    store = sql_store(opener)
    store.commit(state(step_requests=1), [event("first")])
    store.max_events = "not a number"  # type: ignore[assignment]  # the prune after them fails
    with pytest.raises((sqlite3.Error, StateStoreError)):
        store.commit(state(step_requests=2), [event("second")], Snapshot("api", 2.0, 1000, "x"))
    store.max_events = 4
    loaded = store.load("api")
    assert loaded is not None
    assert loaded.step_requests == 1
    assert [e.kind for e in store.events("api")] == ["first"]
    assert store.snapshots("api") == []
    store.commit(state(step_requests=3), [event("third")])  # and the store still works
    assert [e.kind for e in store.events("api")] == ["first", "third"]


def test_a_failing_transaction_is_rolled_back(opener: Opener) -> None:
    """An exception inside the transaction primitive undoes its writes (both stores' shape)."""
    store = sql_store(opener)

    def work(x: Execute) -> None:
        x(store.dialect.sql("INSERT INTO route_weight (route, weight_bps) VALUES (?, ?)"), ("a", 1))
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        store._transaction(work)
    assert store.load_weights() == {}


def test_a_fresh_store_records_the_current_schema_version(opener: Opener) -> None:
    """Creating the schema writes SCHEMA_VERSION; opening again keeps it."""
    assert sql_store(opener).schema_version() == SCHEMA_VERSION
    assert sql_store(opener).schema_version() == SCHEMA_VERSION


def test_an_unversioned_store_is_migrated_forward_keeping_its_rows(opener: Opener) -> None:
    """A pre-versioning store (tables, no version row) opens, keeps its rows, gets the version."""
    old = sql_store(opener)
    old.commit(state(), [event("started")])
    old._transaction(lambda x: x("DROP TABLE schema_version"))
    reopened = sql_store(opener)
    assert reopened.schema_version() == SCHEMA_VERSION
    assert reopened.load("api") == state()
    assert [e.kind for e in reopened.events()] == ["started"]


def test_a_newer_schema_is_refused_in_one_line(opener: Opener) -> None:
    """A store written by a newer gateway: StateStoreError saying so, and nothing is changed."""
    newer = sql_store(opener)
    newer._transaction(lambda x: x(f"UPDATE schema_version SET version = {SCHEMA_VERSION + 1}"))
    with pytest.raises(StateStoreError) as caught:
        opener()
    message = str(caught.value)
    assert message.endswith(
        f"schema version {SCHEMA_VERSION + 1} is newer than this gateway's {SCHEMA_VERSION};"
        " upgrade the gateway"
    )
    assert "\n" not in message
    assert newer.schema_version() == SCHEMA_VERSION + 1


def test_a_version_1_store_is_migrated_to_the_cluster_tables(opener: Opener) -> None:
    """A schema 1 store (no cluster tables) opens at version 2, keeps its rows, gains the tables."""
    old = sql_store(opener)
    old.commit(state(), [event("started")])
    old.save_weight("web", 700)

    def downgrade(x: Execute) -> None:
        for table in ("cluster_lease", "cluster_config", "cluster_replica", "cluster_evidence"):
            x(f"DROP TABLE {table}")
        x("UPDATE schema_version SET version = 1")

    old._transaction(downgrade)
    assert old.schema_version() == 1
    reopened = sql_store(opener)
    assert reopened.schema_version() == SCHEMA_VERSION == 3
    assert reopened.load("api") == state()
    assert reopened.load_weights() == {"web": 700}
    assert [e.kind for e in reopened.events()] == ["started"]
    assert isinstance(reopened, ClusterSqlStore)
    assert reopened.acquire_lease("a", 5.0).epoch == 1
    assert reopened.update_config(lambda d: d).version == 1


def test_a_version_2_store_is_migrated_to_the_step_evidence_table(opener: Opener) -> None:
    """A schema 2 store (no step_evidence) opens at version 3, keeps its rows, saves evidence."""
    old = sql_store(opener)
    old.commit(state(), [event("started")])

    def downgrade(x: Execute) -> None:
        x("DROP TABLE step_evidence")
        x("UPDATE schema_version SET version = 2")

    old._transaction(downgrade)
    reopened = sql_store(opener)
    assert reopened.schema_version() == SCHEMA_VERSION == 3
    assert reopened.load("api") == state()
    assert reopened.load_evidence("api") is None
    reopened.save_evidence(SavedEvidence("api", "s", "{}", 1.0))
    assert reopened.load_evidence("api") == SavedEvidence("api", "s", "{}", 1.0)


def test_saved_evidence_is_one_row_per_route_the_latest_save(store: StateStore) -> None:
    """A save replaces the route's row (whichever step wrote it); other routes keep theirs."""
    assert store.load_evidence("api") is None
    store.save_evidence(SavedEvidence("api", "step-1", '{"v": 1}', 10.5))
    store.save_evidence(SavedEvidence("web", "step-9", "{}", 11.0))
    store.save_evidence(SavedEvidence("api", "step-2", '{"v": 1, "n": 2}', 12.25))
    assert store.load_evidence("api") == SavedEvidence("api", "step-2", '{"v": 1, "n": 2}', 12.25)
    assert store.load_evidence("web") == SavedEvidence("web", "step-9", "{}", 11.0)
