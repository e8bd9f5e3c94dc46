"""BufferedStore: failed writes kept in order and retried, reads that
see them, promotions refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from migration.buffered_store import BufferedStore, StoreUnavailable
from migration.journal import Journal
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


def journaled(inner: InMemoryStore, path: Path, clock: FakeClock) -> BufferedStore:
    return BufferedStore(inner, clock, Journal(path, "mem"))


def test_a_buffered_rollback_survives_a_crash_through_the_journal(tmp_path: Path) -> None:
    """A rollback the store refused is read back by a new process and flushed once it returns."""
    inner, clock, path = InMemoryStore(), FakeClock(), tmp_path / "journal.jsonl"
    first = journaled(inner, path, clock)
    first.commit(state(bps=5000), [event("started", 1.0)])
    inner.fail = True
    first.commit(state(Phase.ROLLED_BACK, 0), [event("rolled_back", 2.0)])
    assert path.exists()
    second = journaled(inner, path, clock)  # the first process died with the store still down
    second.replay()
    assert second.load("api") == state(Phase.ROLLED_BACK, 0)
    assert second.buffered_weights() == {"api": 0}
    assert second.failing  # no promotion may jump over the replayed rollback
    assert not second.flush()
    inner.fail = False
    assert second.flush()
    assert inner.load("api") == state(Phase.ROLLED_BACK, 0)
    assert [e.kind for e in inner.events()] == ["started", "rolled_back"]
    assert not path.exists()


def test_a_journal_replayed_twice_records_each_event_once(tmp_path: Path) -> None:
    """A crash after the store took the writes but before the file went: no duplicate events."""
    inner, clock, path = InMemoryStore(), FakeClock(), tmp_path / "journal.jsonl"
    first = journaled(inner, path, clock)
    inner.fail = True
    first.commit(state(Phase.ROLLED_BACK, 0), [event("rolled_back", 2.0)])
    first.save_weight("other", 0, [Event("other", 3.0, "weight_set", Phase.PENDING, 0, 0)])
    kept = path.read_bytes()
    inner.fail = False
    assert first.flush()
    path.write_bytes(kept)  # as if the process died before removing it
    second = journaled(inner, path, clock)
    second.replay()
    assert second.flush()
    assert [e.kind for e in inner.events()] == ["rolled_back", "weight_set"]
    assert inner.load_weights() == {"other": 0}


def test_a_journal_that_cannot_be_written_keeps_the_decision_in_memory(tmp_path: Path) -> None:
    """The journal's disk refuses: the write is still buffered, read back and flushed later."""
    inner, clock = InMemoryStore(), FakeClock()
    blocker = tmp_path / "file"
    blocker.write_text("")
    store = journaled(inner, blocker / "journal.jsonl", clock)
    inner.fail = True
    store.commit(state(Phase.ROLLED_BACK, 0), [event("rolled_back", 2.0)])
    assert store.journal is not None
    assert store.journal.errors == 1
    assert store.load("api") == state(Phase.ROLLED_BACK, 0)
    inner.fail = False
    assert store.flush()
    assert [e.kind for e in inner.events()] == ["rolled_back"]


def test_a_manual_weight_is_journaled_over_a_buffered_state(tmp_path: Path) -> None:
    """An operator's lower weight after a buffered state replays as that state at the weight."""
    inner, clock, path = InMemoryStore(), FakeClock(), tmp_path / "journal.jsonl"
    first = journaled(inner, path, clock)
    inner.fail = True
    first.commit(state(Phase.PAUSED, 5000))
    first.save_weight("api", 1000, [event("overridden", 3.0)])
    second = journaled(inner, path, clock)
    second.replay()
    assert second.load("api") == state(Phase.PAUSED, 1000)
    assert second.buffered_weights() == {"api": 1000}


def test_a_deposed_leader_discards_its_journal(tmp_path: Path) -> None:
    """discard() (another member leads) removes the journal too: its decisions stand."""
    inner, clock, path = InMemoryStore(), FakeClock(), tmp_path / "journal.jsonl"
    store = journaled(inner, path, clock)
    inner.fail = True
    store.commit(state(Phase.ROLLED_BACK, 0), [event("rolled_back", 2.0)])
    store.discard()
    assert not path.exists()
