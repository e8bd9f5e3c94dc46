"""The elector resumes after a restart: a term right after its journal's one continues it."""

from __future__ import annotations

from migration.cluster.leader import LeaderElector
from migration.cluster.testing import InMemoryClusterStore
from migration.testing import FakeClock


def test_a_lease_taken_right_after_the_journals_term_continues_it() -> None:
    """The journal's epoch E, then the lease at E+1: continued, so the replayed writes stay."""
    clock = FakeClock()
    store = InMemoryClusterStore(clock)
    before = LeaderElector(store, "gw-1")
    assert before.tick()
    epoch = before.epoch
    clock.advance(60)  # gw-1 died; its lease expired
    after = LeaderElector(store.member(), "gw-2", monotonic=clock)
    after.resume_after(epoch)
    assert after.tick()
    assert after.continued
    assert after.epoch == epoch + 1


def test_a_lease_taken_after_another_member_led_does_not_continue() -> None:
    """Another member led between the journal's term and ours: not continued (writes dropped)."""
    clock = FakeClock()
    store = InMemoryClusterStore(clock)
    first = LeaderElector(store, "gw-1", monotonic=clock)
    assert first.tick()
    epoch = first.epoch
    clock.advance(60)
    assert LeaderElector(store.member(), "gw-3", monotonic=clock).tick()
    clock.advance(60)
    after = LeaderElector(store.member(), "gw-2", monotonic=clock)
    after.resume_after(epoch)
    assert after.tick()
    assert not after.continued
