"""BufferedStore: failed writes kept in order and retried, reads that
see them, promotions refused."""

from __future__ import annotations

import pytest

from migration.buffered_store import BufferedStore, StoreUnavailable
from migration.plan import Plan, Step
from migration.state import Event, MigrationState, Phase
from migration.testing import FakeClock, InMemoryStore

PLAN = Plan("api", (Step(1000), Step(5000)))


def state(phase: Phase = Phase.RUNNING, bps: int = 1000) -> MigrationState:
    return MigrationState("api", PLAN, phase, 0, bps, 0.0)


def event(kind: str, at: float) -> Event:
    return Event("api", at, kind, Phase.RUNNING, 0, 1000)


def test_failed_writes_are_read_back_and_flushed_in_order() -> None:
    """While the store fails, reads see the buffered state; flush writes every event, in order."""
    inner, clock = InMemoryStore(), FakeClock()
    store = BufferedStore(inner, clock)
    store.commit(state(), [event("started", 1.0)])
    inner.fail = True
    store.commit(state(Phase.ROLLED_BACK, 0), [event("rolled_back", 2.0)])
    store.save_weight("other", 3000, [Event("other", 3.0, "weight_set", Phase.PENDING, 0, 3000)])
    assert store.failing
    assert store.pending == 2
    assert store.load("api") == state(Phase.ROLLED_BACK, 0)
    assert [e.kind for e in store.events()] == ["started", "rolled_back", "weight_set"]
    assert store.load_weights() == {"other": 3000}
    assert not store.flush()
    inner.fail = False
    assert store.flush()
    assert not store.failing
    assert inner.load("api") == state(Phase.ROLLED_BACK, 0)
    assert inner.load_weights() == {"other": 3000}
    assert [e.kind for e in inner.events()] == ["started", "rolled_back", "weight_set"]


def test_commit_now_refuses_instead_of_buffering() -> None:
    """A write that must be durable raises, and leaves nothing behind to be flushed later."""
    inner = InMemoryStore()
    store = BufferedStore(inner, FakeClock())
    inner.fail = True
    with pytest.raises(StoreUnavailable, match="disk is full"):
        store.commit_now(state(bps=5000))
    inner.fail = False
    with pytest.raises(StoreUnavailable, match="failing since"):
        store.commit_now(state(bps=5000))  # still failing until a write succeeds
    assert store.flush()
    store.commit_now(state(bps=5000))
    assert inner.load("api") == state(bps=5000)
    assert store.errors == 1


def test_reads_fall_back_to_what_was_last_read() -> None:
    """A store that cannot even be read answers with the states it gave before."""

    class Unreadable(InMemoryStore):
        broken = False

        def load_all(self) -> list[MigrationState]:
            if self.broken:
                raise OSError("I/O error")
            return super().load_all()

    inner = Unreadable()
    inner.commit(state())
    store = BufferedStore(inner, FakeClock())
    assert store.load_all() == [state()]
    inner.broken = True
    assert store.load_all() == [state()]
    assert store.failing
