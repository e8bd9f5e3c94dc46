"""A step's sequential evidence survives a restart or a new leader (migration.evidence_saver)."""

from __future__ import annotations

from typing import Any

import pytest
from structlog.testing import capture_logs

from migration.cluster.seams import Fence, FencedOut
from migration.cluster.testing import InMemoryClusterStore
from migration.evidence_saver import step_key
from migration.plan import Plan, Step
from migration.state import Phase, SavedEvidence
from migration.step_evidence import StepEvidence
from migration.testing import FakeClock, InMemoryStore, RecordingWeights
from tests.migration.test_controller import ROUTE, Rig

OPERATIONS = ["create", "read", "list", "update", "delete"]
#: A step that does not promote within these tests.
SLOW = Plan(ROUTE, (Step(5000, hold_s=600, min_requests=0), Step(10_000)))


def evidence(rig: Rig) -> dict[str, Any]:
    """The route's and its operations' evidence as data, by key (the pull count aside: a
    restored evidence's marking pull counts one)."""
    held: dict[str, StepEvidence] = rig.controller.ledger.held(ROUTE)
    return {key: e.to_data() | {"pulls": None} for key, e in held.items()}


def started(store: InMemoryStore | None = None, seconds: int = 30) -> Rig:
    """A rig on the slow plan with five operations, driven ``seconds``."""
    rig = Rig(store=store)
    rig.traffic.operations = OPERATIONS
    rig.controller.start(SLOW)
    rig.drive(seconds)
    return rig


@pytest.mark.parametrize("how", ["recover", "begin_term"])
def test_a_second_controller_resumes_the_same_evidence(how: str) -> None:
    """A new gateway (recover) or leader (begin_term) on the same store resumes saved totals."""
    first = started(seconds=30)
    first.controller.ledger.save()  # a clean shutdown
    saved = evidence(first)
    assert set(saved) == {ROUTE, *(f"{ROUTE}/{op}" for op in OPERATIONS)}
    first.clock.advance(4)  # the downtime
    second = Rig(store=first.store, clock=first.clock)
    second.traffic.operations = OPERATIONS
    getattr(second.controller, how)()
    with capture_logs() as logs:
        second.controller.step()  # the first evaluation restores; its pull only marks
    assert evidence(second) == saved
    [line] = [entry for entry in logs if entry["event"] == "step_evidence_restored"]
    before = saved[ROUTE]["step"]["candidate"]["n"]
    assert (line["route"], line["step"], line["age_s"]) == (ROUTE, 0, 4.0)
    assert line["candidate_requests"] == before
    view = second.controller.ledger.view(ROUTE)
    assert view["restored_at"] == first.clock.now
    assert view["restored_candidate_requests"] == view["candidate_requests"] == before
    second.drive(5)
    assert second.controller.ledger.view(ROUTE)["candidate_requests"] >= before + 400


def test_saves_come_every_evidence_save_s_and_hold_the_step() -> None:
    """Evaluated every second, the evidence is saved every 5 s, keyed by the step."""
    rig = started(seconds=12)
    row = rig.store.load_evidence(ROUTE)
    assert row is not None
    assert row.step == step_key(rig.state())
    assert row.saved_at == rig.controller.ledger.view(ROUTE)["saved_at"]
    assert rig.clock.now - row.saved_at < 5.0
    assert rig.clock.now - row.saved_at >= 1.0  # not at every evaluation


def test_another_steps_record_is_ignored_and_replaced() -> None:
    """A row saved for an earlier step is not restored; the next save replaces it."""
    first = started(seconds=20)
    first.controller.ledger.save()
    first.controller.promote(ROUTE)  # a new step, its evidence never saved
    second = Rig(store=first.store, clock=first.clock)
    second.controller.recover()
    second.drive(6)
    view = second.controller.ledger.view(ROUTE)
    assert view["restored_at"] is None
    assert view["candidate_requests"] == 5 * 200  # the new step at 100 %, after its first pull
    row = second.store.load_evidence(ROUTE)
    assert row is not None
    assert row.step == step_key(second.state())


def test_an_unreadable_row_starts_the_step_afresh() -> None:
    """A row of the right step that cannot be decoded is logged and ignored."""
    first = started(seconds=10)
    first.store.save_evidence(SavedEvidence(ROUTE, step_key(first.state()), '{"v": 9}', 1.0))
    second = Rig(store=first.store, clock=first.clock)
    second.controller.recover()
    with capture_logs() as logs:
        second.drive(2)
    assert "step_evidence_unreadable" in [entry["event"] for entry in logs]
    assert second.controller.ledger.view(ROUTE)["restored_at"] is None


def test_a_resume_after_a_pause_replaces_the_saved_evidence() -> None:
    """The pre-pause evidence (maybe at another weight) never comes back after a restart."""
    first = started(seconds=20)
    first.controller.pause(ROUTE)
    first.controller.resume(ROUTE)
    second = Rig(store=first.store, clock=first.clock)
    second.controller.recover()
    second.controller.step()
    assert second.controller.ledger.view(ROUTE)["candidate_requests"] == 0


class RefusesEvidence(InMemoryStore):
    """Takes every commit, refuses every evidence save; records the time and live weight."""

    def __init__(self, clock: FakeClock, weights: RecordingWeights) -> None:
        super().__init__()
        self.clock, self.live = clock, weights.weights
        self.saves: list[tuple[float, int]] = []

    def save_evidence(self, saved: SavedEvidence) -> None:
        self.saves.append((self.clock.now, self.live[saved.route]))
        raise OSError("database or disk is full")


def test_a_failing_save_neither_stops_the_evaluation_nor_the_rollback() -> None:
    """Saves fail (counted, logged once); the regression is still rolled back."""
    clock, weights = FakeClock(), RecordingWeights()
    store = RefusesEvidence(clock, weights)
    rig = Rig(store=store, clock=clock, weights=weights)
    rig.controller.start(SLOW)
    with capture_logs() as logs:
        rig.drive(20)
        rig.traffic.latency_factor = 3.0
        rig.drive(20)
    assert rig.state().phase is Phase.ROLLED_BACK
    failures = [entry for entry in logs if entry["event"] == "step_evidence_save_failed"]
    assert len(failures) == 1
    assert rig.sample("cutover_step_evidence_save_errors_total") == len(store.saves) >= 4
    assert not rig.controller.store.failing  # the decisions' store is not the save's problem


def test_the_save_comes_after_the_evaluations_rollback() -> None:
    """Saving at every evaluation, the rollback's own evaluation saves at the stepped-down
    weight: the save waited for the decision, never the reverse."""
    clock, weights = FakeClock(), RecordingWeights()
    store = RefusesEvidence(clock, weights)
    rig = Rig(store, clock, "step_down", weights, evidence_save_s=1.0)
    rig.controller.start(Plan(ROUTE, (Step(1000), Step(5000, hold_s=600, min_requests=0))))
    rig.controller.promote(ROUTE)
    rig.drive(10)
    rig.traffic.error_every = 2  # a hard breach: rolled back at once
    rig.drive(5)
    event = next(e for e in rig.store.events(ROUTE) if e.kind == "rolled_back")
    assert event.weight_bps == 1000
    assert (event.at, 1000) in store.saves
    assert (event.at, 5000) not in store.saves
    assert all(bps == 5000 for at, bps in store.saves if at < event.at)


def test_a_new_leader_resumes_and_a_deposed_ones_save_is_fenced() -> None:
    """On a cluster the new leader resumes the last leader's save; the old one cannot overwrite."""
    clock = FakeClock()
    shared = InMemoryClusterStore(clock)
    old_store, new_store = shared.member(), shared.member()
    lease = old_store.acquire_lease("a", 5.0)
    old_store.fence = Fence("a", lease.epoch)
    old = Rig(store=old_store, clock=clock)
    old.controller.start(SLOW)
    old.drive(12)
    old.controller.ledger.save()
    saved = old.controller.ledger.view(ROUTE)["candidate_requests"]
    clock.advance(6)  # the lease expires; "b" takes over
    lease = new_store.acquire_lease("b", 5.0)
    new_store.fence = Fence("b", lease.epoch)
    new = Rig(store=new_store, clock=clock)
    new.controller.begin_term()
    new.controller.step()
    assert new.controller.ledger.view(ROUTE)["restored_candidate_requests"] == saved
    with pytest.raises(FencedOut):
        old.controller.ledger.save()
    row = shared.load_evidence(ROUTE)
    assert row is not None
    assert row.saved_at == clock.now  # the new leader's first save, not the old one's


def test_a_refused_save_ends_the_round() -> None:
    """After one refused save the other routes wait for the next round, not on the store."""
    clock, weights = FakeClock(), RecordingWeights()
    store = RefusesEvidence(clock, weights)
    rig = Rig(store=store, clock=clock, weights=weights)
    for route in (ROUTE, "web"):
        rig.controller.start(Plan(route, SLOW.steps))
    rig.drive(1)
    assert len(store.saves) == 1
