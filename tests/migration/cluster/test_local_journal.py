"""A fail-static member's own changes are journaled, replayed once (lower only), published once."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

from prometheus_client import CollectorRegistry

from gateway.config import build_config
from gateway.faults import FaultSpec
from gateway.state import GatewayState
from migration.cluster.follower import ConfigFollower, set_weight_in
from migration.cluster.local_journal import (
    LocalJournal,
    journal_hook,
    local_journal_path,
    replay_local_changes,
)
from migration.cluster.testing import InMemoryClusterStore
from migration.cluster.weights import LOCAL_ACTOR, SnapshotGuard, publish_local_changes
from migration.journal import Journal, JournalMetrics

ROUTE = "default"
STORE = "postgresql://db/cutover"


class Member:
    """One member's follower, state and local journal, wired as the runtime wires them."""

    def __init__(
        self,
        path: Path,
        store: InMemoryClusterStore,
        *,
        weight: int = 5000,
        metrics: JournalMetrics | None = None,
        store_id: str = STORE,
    ) -> None:
        self.store = store
        self.state = GatewayState(build_config({}))
        self.state.set_weight(ROUTE, weight)
        self.follower = ConfigFollower(store, self.state)
        self.state.guard = SnapshotGuard(store, self.follower, self.state)
        self.journal = LocalJournal(Journal(path, store_id, metrics=metrics, ops=("local",)))
        self.journal.read()
        self.follower.on_keep = journal_hook(self.journal, self.follower)
        self.follower.on_published = lambda: self.journal.rewrite(self.follower)

    def outage(self) -> None:
        """The store has been unreachable long enough: fail-static."""
        self.follower.store_up, self.follower.fail_static = False, True

    def replay(self) -> dict[str, int]:
        return replay_local_changes(self.journal, self.follower, self.state, LOCAL_ACTOR)

    def publish(self) -> int:
        return publish_local_changes(self.store, self.follower, "r1")


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _local_events(store: InMemoryClusterStore) -> list[int | None]:
    return [e.weight_bps for e in store.events(ROUTE) if e.kind == "local_change"]


def test_an_operators_lowering_while_fail_static_is_appended(tmp_path: Path) -> None:
    """keep_local writes the change, with its why and time, to the journal after the header."""
    path = tmp_path / "j-local.jsonl"
    m = Member(path, InMemoryClusterStore(clock=lambda: 0.0))
    m.outage()
    m.state.set_weight(ROUTE, 1000, actor="alice", reason="drill")
    assert m.state.get_weight(ROUTE) == 1000
    header, entry = _lines(path)
    assert header["store"] == STORE
    assert entry["op"] == "local"
    assert entry["kind"] == "weight"
    assert entry["value"] == 1000
    assert entry["why"] == "alice: drill"
    assert entry["at"] == m.follower.local_changes[ROUTE][2]


async def test_on_the_event_loop_the_lowering_applies_before_its_journal_append(
    tmp_path: Path,
) -> None:
    """The guard runs before the state applies: the fsync waits for the loop's next turn."""
    path = tmp_path / "j-local.jsonl"
    m = Member(path, InMemoryClusterStore(clock=lambda: 0.0))
    m.outage()
    m.state.set_weight(ROUTE, 1000, actor="alice")
    assert m.state.get_weight(ROUTE) == 1000
    assert not path.exists()
    await asyncio.sleep(0)
    assert [e["value"] for e in _lines(path)[1:]] == [1000]


def test_publishing_removes_the_journal(tmp_path: Path) -> None:
    """Once the store has the change the file is gone, and one local_change event is stored."""
    path = tmp_path / "j-local.jsonl"
    store = InMemoryClusterStore(clock=lambda: 0.0)
    m = Member(path, store)
    m.outage()
    m.state.set_weight(ROUTE, 0, actor="alice")
    assert m.publish() == 1
    assert not path.exists()
    assert m.journal.journal.pending == 0
    assert _local_events(store) == [0]


def test_a_restart_during_the_outage_replays_the_lowering_once(tmp_path: Path) -> None:
    """A restarted member serves the journaled weight and publishes it with one event."""
    path = tmp_path / "j-local.jsonl"
    store = InMemoryClusterStore(clock=lambda: 0.0)
    before = Member(path, store)
    before.outage()
    before.state.set_weight(ROUTE, 0, actor="alice")  # then kill -9: nothing else runs

    after = Member(path, store)  # its snapshot cache says 50 %
    assert after.replay() == {"weights": 1, "faults": 0, "dropped": 0}
    assert after.state.get_weight(ROUTE) == 0
    assert after.follower.local_changes[ROUTE][0] == 0
    assert path.exists()  # still unpublished
    store.update_config(lambda d: set_weight_in(d, ROUTE, 5000, "controller", None))
    after.follower.apply(store.read_config())
    assert after.state.get_weight(ROUTE) == 0  # the older, higher snapshot does not win
    after.publish()
    assert _local_events(store) == [0]
    assert after.follower.apply(store.read_config())
    assert after.follower.published_weight(ROUTE) == 0
    assert not path.exists()


def test_a_crash_after_the_publish_does_not_record_the_event_twice(tmp_path: Path) -> None:
    """A journal replayed after the store took its change adds no second local_change event."""
    path, saved = tmp_path / "j-local.jsonl", tmp_path / "saved.jsonl"
    store = InMemoryClusterStore(clock=lambda: 0.0)
    first = Member(path, store)
    first.outage()
    first.state.set_weight(ROUTE, 0, actor="alice")
    shutil.copy(path, saved)
    second = Member(path, store)
    second.replay()
    second.publish()
    shutil.copy(saved, path)  # crashed before the file was removed
    third = Member(path, store)
    third.replay()
    assert third.follower.local_changes[ROUTE][0] == 0  # equal to the store's: kept
    third.publish()
    assert _local_events(store) == [0]
    assert not path.exists()


def test_a_journaled_weight_never_raises_one(tmp_path: Path) -> None:
    """A journaled weight higher than the one served is dropped; the file keeps nothing."""
    path = tmp_path / "j-local.jsonl"
    store = InMemoryClusterStore(clock=lambda: 0.0)
    before = Member(path, store)
    before.outage()
    before.state.set_weight(ROUTE, 2000, actor="alice")
    after = Member(path, store, weight=1000)  # lowered further since
    assert after.replay() == {"weights": 0, "faults": 0, "dropped": 1}
    assert after.state.get_weight(ROUTE) == 1000
    assert after.follower.local_changes == {}
    assert not path.exists()


def test_a_fault_set_while_fail_static_is_replayed(tmp_path: Path) -> None:
    """A fault an operator set during the outage is in force again after a restart, kept local."""
    path = tmp_path / "j-local.jsonl"
    store = InMemoryClusterStore(clock=lambda: 0.0)
    spec = FaultSpec(abort_percent=100, abort_status=503)
    before = Member(path, store)
    before.outage()
    before.state.set_fault("candidate", spec)
    after = Member(path, store)
    assert after.replay()["faults"] == 1
    assert after.state.get_fault("candidate") == spec
    assert after.follower.local_faults == {"candidate": spec}


def test_an_unwritable_journal_does_not_stop_the_change(tmp_path: Path) -> None:
    """With the journal's directory a file, the lowering is in force and kept; the error counted."""
    blocker = tmp_path / "blocker"
    registry = CollectorRegistry()
    store = InMemoryClusterStore(clock=lambda: 0.0)
    m = Member(blocker / "j-local.jsonl", store, metrics=JournalMetrics(registry))
    blocker.write_text("")  # the disk refuses from now on
    m.outage()
    m.state.set_weight(ROUTE, 0, actor="alice")
    assert m.state.get_weight(ROUTE) == 0
    assert ROUTE in m.follower.local_changes
    assert registry.get_sample_value("cutover_state_journal_errors_total") == 1


def test_a_journal_of_another_store_is_not_replayed(tmp_path: Path) -> None:
    """The header rule: another store's local journal is set aside, nothing replayed."""
    path = tmp_path / "j-local.jsonl"
    store = InMemoryClusterStore(clock=lambda: 0.0)
    before = Member(path, store, store_id="postgresql://other/cutover")
    before.outage()
    before.state.set_weight(ROUTE, 0, actor="alice")
    after = Member(path, store)
    assert after.replay() == {"weights": 0, "faults": 0, "dropped": 0}
    assert after.state.get_weight(ROUTE) == 5000
    assert path.with_name(path.name + ".ignored").exists()


def test_the_pending_gauge_sums_both_journals(tmp_path: Path) -> None:
    """cutover_state_journal_pending counts the buffered writes and the local changes."""
    registry = CollectorRegistry()
    metrics = JournalMetrics(registry)
    buffered = Journal(tmp_path / "j.jsonl", STORE, metrics=metrics)
    buffered.append({"op": "weight", "route": ROUTE, "weight_bps": 0, "events": []})
    m = Member(tmp_path / "j-local.jsonl", InMemoryClusterStore(clock=lambda: 0.0), metrics=metrics)
    m.outage()
    m.state.set_weight(ROUTE, 0, actor="alice")
    assert registry.get_sample_value("cutover_state_journal_pending") == 2
    m.publish()
    assert registry.get_sample_value("cutover_state_journal_pending") == 1


def test_each_process_has_its_own_file_named_by_a_stable_slot() -> None:
    """A member's file sits beside the journal; a worker's is named by its slot, not its host."""
    journal = Path("/var/lib/cutover/state-journal.jsonl")
    assert local_journal_path(journal).name == "state-journal-local.jsonl"
    assert local_journal_path(journal, "pod-7f9c/w2").name == "state-journal-local-w2.jsonl"
    assert local_journal_path(journal, "a/../b").parent == journal.parent
