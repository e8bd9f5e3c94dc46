"""The controller on a fake clock: a whole ramp, rollbacks, gates, operator actions, restarts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from migration.analysis import Decision, Policy
from migration.controller import Evaluation, MigrationController, MigrationError
from migration.decision_metrics import DecisionMetrics
from migration.metrics import MigrationMetrics
from migration.plan import Plan, Step
from migration.state import MigrationState, Phase
from migration.store import SQLiteStore, StateStore
from migration.testing import FakeClock, FakeInflight, InMemoryStore, RecordingWeights
from tests.migration.sim import Traffic, drive

ROUTE = "api"


class Rig:
    """A controller wired to real metrics, a fake clock, recording weights and a store."""

    def __init__(
        self,
        store: StateStore | None = None,
        clock: FakeClock | None = None,
        rollback_mode: str = "zero",
        weights: RecordingWeights | None = None,
        policy: Policy | None = None,
        evidence_save_s: float = 5.0,
    ) -> None:
        self.clock = clock or FakeClock()
        self.metrics = MigrationMetrics(self.clock)
        self.weights = weights or RecordingWeights()
        self.store = store or InMemoryStore()
        self.registry = CollectorRegistry()
        self.inflight = FakeInflight(self.clock)
        self.deadlines: dict[str, float | None] = {}
        self.controller = MigrationController(
            store=self.store,
            source=self.metrics,
            weights=self.weights,
            policy=policy or Policy(),
            clock=self.clock,
            metrics=DecisionMetrics(self.registry),
            interval_s=1.0,
            rollback_mode=rollback_mode,  # type: ignore[arg-type]
            inflight=self.inflight,
            deadlines=self,
            evidence_save_s=evidence_save_s,
        )
        self.weights.listeners.append(self.controller.manual_weights.changed)
        self.traffic = Traffic(self.metrics, self.clock, self.weights)

    def set_fallback_after(self, route: str, seconds: float | None) -> None:
        self.deadlines[route] = seconds

    def drive(self, seconds: int) -> list[Decision]:
        return [e.verdict.decision for e in drive(self.controller, self.traffic, seconds)]

    def state(self) -> MigrationState:
        state = self.store.load(ROUTE)
        assert state is not None
        return state

    def kinds(self) -> list[str]:
        return [e.kind for e in self.store.events(ROUTE, limit=1000)]

    def sample(self, name: str, **labels: str) -> float | None:
        return self.registry.get_sample_value(name, labels)


def plan(*steps: Step) -> Plan:
    return Plan(ROUTE, steps)


def test_whole_ramp_completes() -> None:
    """Healthy traffic walks 10 → 50 → 100 %, each step held, and completes at 100 %."""
    rig = Rig()
    steps = [Step(w, hold_s=15, min_requests=100) for w in (1000, 5000, 10_000)]
    rig.controller.start(plan(*steps))
    rig.drive(120)
    state = rig.state()
    assert state.phase is Phase.COMPLETED
    assert state.weight_bps == 10_000
    assert [bps for _, bps in rig.weights.calls] == [1000, 5000, 10_000]
    kinds = rig.kinds()
    assert kinds[0] == "started"
    assert kinds.count("promoted") == 2
    assert kinds[-1] == "completed"
    assert rig.sample("cutover_promotions_total", route=ROUTE) == 3
    assert rig.sample("cutover_migration_phase", route=ROUTE) == 5
    assert rig.sample("cutover_migration_step", route=ROUTE) == 2


def test_step_is_held_for_time_and_requests() -> None:
    """A step does not promote before its hold time, nor before its candidate request minimum."""
    rig = Rig()
    rig.controller.start(plan(Step(1000, hold_s=20, min_requests=100), Step(10_000)))
    rig.drive(19)
    assert rig.state().step_index == 0  # 19 s < 20 s
    rig.drive(1)
    assert rig.state().step_index == 1
    rig2 = Rig()
    # 500, not fewer: with no errors non-inferiority is shown at 400 candidate samples (20 s).
    rig2.controller.start(plan(Step(1000, hold_s=5, min_requests=500), Step(10_000)))
    rig2.drive(24)  # 20 candidate requests per second
    assert rig2.state().step_index == 0
    assert rig2.state().step_requests == 480
    rig2.drive(1)
    assert rig2.state().step_index == 1


def test_latency_regression_rolls_back_after_consecutive_failures() -> None:
    """Windowed analysis: a 2x latency regression is held twice, then rolled back to 0 %."""
    rig = Rig(policy=Policy(analysis="windowed"))
    rig.controller.start(plan(Step(5000, hold_s=1e6, min_requests=10**6)))
    rig.drive(15)
    rig.traffic.latency_factor = 2.0
    decisions = rig.drive(15)
    assert Decision.ROLLBACK in decisions
    first = decisions.index(Decision.ROLLBACK)
    assert decisions[first - 2 : first] == [Decision.HOLD, Decision.HOLD]
    assert first < 10
    state = rig.state()
    assert state.phase is Phase.ROLLED_BACK
    assert state.weight_bps == 0
    assert rig.weights.weights[ROUTE] == 0
    event = rig.store.events(ROUTE)[-1]
    assert event.kind == "rolled_back"
    assert any(r.startswith("latency_p95") for r in event.reasons)
    assert event.numbers["latency_p95"]["status"] == "fail"
    assert event.numbers["latency_p95"]["candidate"] > event.numbers["latency_p95"]["threshold"]
    assert rig.sample("cutover_rollbacks_total", route=ROUTE, reason="latency_p95") == 1
    assert rig.sample("cutover_migration_phase", route=ROUTE) == 4
    # It stays rolled back: no further evaluations, no weight changes, until an operator acts.
    calls = len(rig.weights.calls)
    rig.traffic.latency_factor = 1.0
    assert rig.drive(30) == []
    assert rig.state().phase is Phase.ROLLED_BACK
    assert len(rig.weights.calls) == calls
    resumed = rig.controller.resume(ROUTE)
    assert (resumed.phase, resumed.weight_bps, resumed.step_requests) == (Phase.RUNNING, 5000, 0)


def test_unreachable_candidate_rolls_back_at_first_evaluation() -> None:
    """Connect errors on every attempt are a hard breach: rolled back at the next step()."""
    rig = Rig()
    rig.controller.start(plan(Step(5000, hold_s=1e6, min_requests=10**6)))
    rig.drive(15)
    rig.traffic.unreachable = True
    assert rig.drive(1) == [Decision.ROLLBACK]
    assert rig.state().weight_bps == 0
    assert rig.sample("cutover_rollbacks_total", route=ROUTE, reason="unreachable") == 1


def test_step_down_rollback_keeps_watching() -> None:
    """With step_down, a rollback returns to the previous step's weight and is still analysed."""
    rig = Rig(rollback_mode="step_down")
    rig.controller.start(plan(Step(1000, hold_s=5, min_requests=10), Step(5000, hold_s=1e6)))
    rig.drive(20)
    assert rig.state().step_index == 1
    rig.traffic.error_every = 10  # 10 % errors on the candidate: past the hard limit
    for _ in range(10):
        rig.drive(1)
        if rig.state().phase is Phase.ROLLED_BACK:
            break
    state = rig.state()
    assert (state.phase, state.step_index, state.weight_bps) == (Phase.ROLLED_BACK, 0, 1000)
    rig.drive(10)  # still failing at 10 %: the next hard breach takes it to 0
    assert rig.state().weight_bps == 0
    assert rig.kinds().count("rolled_back") == 2


def test_manual_gate_waits_for_an_operator() -> None:
    """The step before a gated one, healthy and held, waits in awaiting_gate until promote()."""
    rig = Rig()
    rig.controller.start(plan(Step(1000, hold_s=5, min_requests=10), Step(10_000, gate=True)))
    rig.drive(60)
    state = rig.state()
    assert (state.phase, state.step_index, state.weight_bps) == (Phase.AWAITING_GATE, 0, 1000)
    assert "promote to 100%" in rig.store.events()[-1].reasons[-1]
    assert rig.sample("cutover_migration_phase", route=ROUTE) == 3
    promoted = rig.controller.promote(ROUTE)
    assert (promoted.phase, promoted.step_index, promoted.weight_bps) == (
        Phase.RUNNING,
        1,
        10_000,
    )
    assert "awaiting_gate" in rig.kinds()


def test_gate_still_rolls_back() -> None:
    """Analysis keeps running at a gate: a regression there still rolls back."""
    rig = Rig()
    rig.controller.start(plan(Step(5000, hold_s=5, min_requests=10), Step(10_000, gate=True)))
    rig.drive(20)
    assert rig.state().phase is Phase.AWAITING_GATE
    rig.traffic.unreachable = True
    rig.drive(1)
    assert rig.state().phase is Phase.ROLLED_BACK


def test_a_gate_on_the_last_step_waits_before_it_and_completion_needs_no_operator() -> None:
    """A gate on 100 % holds the route at the step before; once promoted, 100 % completes alone."""
    rig = Rig()
    steps = (
        Step(1000, hold_s=5, min_requests=10),
        Step(10_000, hold_s=5, min_requests=10, gate=True),
    )
    rig.controller.start(plan(*steps))
    rig.drive(30)
    assert (rig.state().phase, rig.state().weight_bps) == (Phase.AWAITING_GATE, 1000)
    rig.controller.promote(ROUTE)
    rig.drive(30)
    assert rig.state().phase is Phase.COMPLETED
    assert rig.kinds().count("awaiting_gate") == 1


def test_a_gate_on_the_first_step_is_passed_by_start() -> None:
    """Starting the plan is the operator's word for a gated first step: it runs at once."""
    rig = Rig()
    rig.controller.start(plan(Step(1000, hold_s=5, min_requests=10, gate=True), Step(10_000)))
    rig.drive(30)
    assert (rig.state().phase, rig.state().step_index) == (Phase.RUNNING, 1)
    assert "awaiting_gate" not in rig.kinds()


def test_a_split_that_moves_nobody_is_a_condition_with_one_event() -> None:
    """At 50 % with every request on the baseline (one sticky key) the route warns, once."""
    rig = Rig()
    rig.controller.start(plan(Step(5000, hold_s=600, min_requests=10), Step(10_000)))
    rig.traffic.share_factor = 0.0
    rig.drive(20)
    assert "share_mismatch" in rig.controller.conditions(ROUTE)
    assert rig.kinds().count("share_mismatch") == 1
    assert rig.sample("cutover_migration_condition", route=ROUTE, condition="share_mismatch") == 1
    rig.traffic.share_factor = 1.0
    rig.controller.pause(ROUTE)
    rig.controller.resume(ROUTE)
    rig.drive(20)
    assert "share_mismatch" not in rig.controller.conditions(ROUTE)


def test_pause_stops_the_hold_clock_and_counting() -> None:
    """Time and requests while paused do not count towards the hold."""
    rig = Rig()
    # A 40 s hold: the sequential evidence starts afresh at the resume, and non-inferiority needs
    # 20 s of it (400 candidate samples), so a shorter hold would not be what holds the step.
    rig.controller.start(plan(Step(1000, hold_s=40, min_requests=10), Step(10_000)))
    rig.drive(10)
    paused = rig.controller.pause(ROUTE)
    assert paused.held_s(rig.clock.now) == pytest.approx(10.0)
    rig.drive(100)
    assert rig.state().phase is Phase.PAUSED
    resumed = rig.controller.resume(ROUTE)
    assert resumed.held_s(rig.clock.now) == pytest.approx(10.0)
    assert resumed.step_requests == 200
    rig.drive(29)
    assert rig.state().step_index == 0
    rig.drive(2)
    assert rig.state().step_index == 1


def test_operator_errors_are_clear() -> None:
    """Actions that do not fit the phase raise MigrationError naming route and phase."""
    rig = Rig()
    with pytest.raises(MigrationError, match="has no migration"):
        rig.controller.pause(ROUTE)
    rig.controller.start(plan(Step(1000)))
    with pytest.raises(MigrationError, match="abort it before starting anew"):
        rig.controller.start(plan(Step(1000)))
    rig.controller.pause(ROUTE)
    with pytest.raises(MigrationError, match="is paused; this action needs running"):
        rig.controller.promote(ROUTE)
    aborted = rig.controller.abort(ROUTE)
    assert (aborted.phase, aborted.weight_bps) == (Phase.ABORTED, 0)
    with pytest.raises(MigrationError, match="already aborted"):
        rig.controller.abort(ROUTE)
    restarted = rig.controller.start(plan(Step(2000)))
    assert (restarted.phase, restarted.weight_bps) == (Phase.RUNNING, 2000)


def test_manual_rollback_and_force_promote() -> None:
    """promote() forces the next step; rollback() records a manual rollback."""
    rig = Rig()
    rig.controller.start(plan(Step(1000), Step(5000), Step(10_000)))
    assert rig.controller.promote(ROUTE).weight_bps == 5000
    rolled = rig.controller.rollback(ROUTE, reason="pager went off")
    assert (rolled.phase, rolled.weight_bps) == (Phase.ROLLED_BACK, 0)
    assert rig.store.events(ROUTE)[-1].reasons == ("manual rollback by operator: pager went off",)
    assert rig.sample("cutover_rollbacks_total", route=ROUTE, reason="manual") == 1


def test_promote_past_last_step_completes() -> None:
    """Promoting the last step marks the migration completed."""
    rig = Rig()
    rig.controller.start(plan(Step(10_000)))
    assert rig.controller.promote(ROUTE).phase is Phase.COMPLETED


def test_failed_weight_push_is_retried() -> None:
    """If the gateway refuses a weight, the store still holds it and the next step re-applies it."""
    weights = RecordingWeights(fail=True)
    rig = Rig(weights=weights)
    state = rig.controller.start(plan(Step(1000)))
    assert state.weight_bps == 1000
    assert weights.calls == []
    weights.fail = False
    rig.controller.step()
    assert weights.calls == [(ROUTE, 1000)]


def test_sequential_analysis_rolls_back_a_2x_regression_within_seconds() -> None:
    """Default analysis: a 2x latency regression rolls back within 10 s, naming a latency check."""
    rig = Rig()
    rig.controller.start(plan(Step(5000, hold_s=1e6, min_requests=10**6)))
    rig.drive(15)
    rig.traffic.latency_factor = 2.0
    decisions = rig.drive(10)
    assert Decision.ROLLBACK in decisions
    event = rig.store.events(ROUTE)[-1]
    assert event.kind == "rolled_back"
    assert any(r.startswith(("latency_p95", "seq_latency")) for r in event.reasons)


def test_restart_mid_step_resumes_exactly(tmp_path: Path) -> None:
    """A new controller over the same file resumes the step, its hold (minus downtime) and count."""
    path = tmp_path / "state" / "migration.db"
    clock = FakeClock()
    first = Rig(store=SQLiteStore(path), clock=clock)
    first.controller.start(plan(Step(1000, hold_s=25, min_requests=500), Step(10_000)))
    first.drive(12)
    before = first.state()
    assert before.step_index == 0
    assert before.step_requests == 240
    first.store.close()  # type: ignore[attr-defined]

    clock.advance(3)  # the gateway was down for 3 s
    second = Rig(store=SQLiteStore(path), clock=clock)
    [recovered] = second.controller.recover()
    assert second.weights.calls == [(ROUTE, 1000)]
    after = second.state()
    assert after == recovered
    assert (after.step_index, after.step_requests) == (before.step_index, before.step_requests)
    # 12 s held before the crash; the 3 s of downtime do not count (see migration.state).
    assert after.held_s(clock.now) == pytest.approx(12.0)
    assert second.store.events(ROUTE)[0].kind == "started"
    second.drive(12)
    state = second.state()
    # 24 s < 25 s held and 480 < 500 requests: still on the first step, counting from where it was.
    assert (state.step_index, state.step_requests) == (0, 480)
    # The step's evidence (the sequential tests') resumed from the last save before the crash
    # (tests/migration/test_controller_evidence.py), not from 0.
    assert second.controller.ledger.view(ROUTE)["restored_candidate_requests"] >= 160
    second.drive(10)
    assert second.state().step_index == 1
    kinds = [e.kind for e in second.store.events(ROUTE)]
    assert kinds.index("decision_inconclusive") < kinds.index("promoted")
    second.store.close()  # type: ignore[attr-defined]


async def test_run_loop_steps_until_stopped() -> None:
    """run() calls step() every interval and returns once the stop event is set."""
    rig = Rig()
    stop = asyncio.Event()
    calls = 0

    def step() -> list[Evaluation]:
        nonlocal calls
        calls += 1
        if calls == 3:
            stop.set()
        if calls == 2:
            raise RuntimeError("one bad step must not kill the loop")
        return []

    rig.controller.step = step  # type: ignore[method-assign]  # count calls, stop on the third
    rig.controller.interval_s = 0.001
    await asyncio.wait_for(rig.controller.run(stop), timeout=5)
    assert calls == 3


def test_constructor_rejects_bad_settings() -> None:
    """interval and rollback mode are validated."""
    with pytest.raises(ValueError, match="interval_s"):
        MigrationController(
            store=InMemoryStore(),
            source=MigrationMetrics(),
            weights=RecordingWeights(),
            interval_s=0,
        )
    with pytest.raises(ValueError, match="rollback_mode"):
        MigrationController(
            store=InMemoryStore(),
            source=MigrationMetrics(),
            weights=RecordingWeights(),
            rollback_mode="sideways",  # type: ignore[arg-type]
        )


# -- issue #12: the controller under faults ---------------------------------------------------


def failing_rig(*steps: Step) -> tuple[Rig, InMemoryStore]:
    rig = Rig()
    rig.controller.start(plan(*steps))
    assert isinstance(rig.store, InMemoryStore)
    return rig, rig.store


def test_a_rollback_is_applied_while_the_store_fails_and_recorded_when_it_is_back() -> None:
    """Weight 0 reaches the gateway at once; the event is written once the store takes it."""
    rig, store = failing_rig(Step(5000, hold_s=600), Step(10_000))
    rig.drive(5)
    store.fail = True
    rig.traffic.unreachable = True
    rig.drive(2)
    assert rig.weights.weights[ROUTE] == 0
    assert rig.controller.store.load(ROUTE).phase is Phase.ROLLED_BACK  # type: ignore[union-attr]
    assert rig.state().phase is Phase.RUNNING  # not in the store yet
    assert "rolled_back" not in rig.kinds()
    assert rig.controller.store.failing
    assert rig.sample("cutover_state_store_failing") == 1
    errors = rig.sample("cutover_state_store_errors_total")
    assert errors is not None
    assert errors >= 1
    assert [e.kind for e in rig.controller.store.events(ROUTE)][-1] == "rolled_back"

    store.fail = False
    rig.drive(1)
    assert rig.state().phase is Phase.ROLLED_BACK
    assert rig.state().weight_bps == 0
    assert rig.kinds()[-1] == "rolled_back"
    assert rig.sample("cutover_state_store_failing") == 0
    assert not rig.controller.store.failing


def test_promotions_are_refused_while_the_store_fails() -> None:
    """A healthy, held step stays put (decision says why) until the store writes again."""
    rig, store = failing_rig(Step(1000, hold_s=10, min_requests=100), Step(5000))
    store.fail = True
    evaluations = drive(rig.controller, rig.traffic, 20)
    assert rig.weights.weights[ROUTE] == 1000
    last = evaluations[-1]
    assert last.verdict.decision is Decision.HOLD
    assert last.verdict.reasons[0].startswith("promotion refused: state store failing")
    assert last.state.last_decision == "promotion_refused"

    store.fail = False
    rig.drive(2)
    assert rig.state().step_index == 1
    assert rig.weights.weights[ROUTE] == 5000
    assert "decision_hold" in rig.kinds()  # the refusal is on record too


def test_operators_cannot_raise_a_weight_while_the_store_fails_but_can_roll_back() -> None:
    """promote/start/resume answer MigrationError; rollback acts at once."""
    rig, store = failing_rig(Step(1000, hold_s=600), Step(5000))
    store.fail = True
    rig.drive(1)
    with pytest.raises(MigrationError, match="state store is failing"):
        rig.controller.promote(ROUTE)
    with pytest.raises(MigrationError, match="state store is failing"):
        rig.controller.start(Plan("other", (Step(1000),)))
    state = rig.controller.rollback(ROUTE, "drill")
    assert state.phase is Phase.ROLLED_BACK
    assert rig.weights.weights[ROUTE] == 0
    with pytest.raises(MigrationError, match="state store is failing"):
        rig.controller.resume(ROUTE)


def test_a_manual_weight_is_persisted_with_actor_and_reason_and_survives_a_restart(
    tmp_path: Path,
) -> None:
    """A weight set outside any migration is stored, on record, and re-applied after a restart."""
    path, clock = tmp_path / "migration.db", FakeClock()
    first = Rig(store=SQLiteStore(path), clock=clock)
    first.weights.operator_sets(ROUTE, 3000, "admin:127.0.0.1", "load test")
    [event] = first.store.events(ROUTE)
    assert event.kind == "weight_set"
    assert event.weight_bps == 3000
    assert event.reasons == ("weight 0% -> 30% set by admin:127.0.0.1", "reason: load test")
    assert event.numbers["actor"] == "admin:127.0.0.1"
    first.store.close()  # type: ignore[attr-defined]

    second = Rig(store=SQLiteStore(path), clock=clock)  # a new gateway starts at 0 %
    second.controller.recover()
    assert second.weights.weights[ROUTE] == 3000
    assert second.weights.actors == ["controller"]
    second.store.close()  # type: ignore[attr-defined]


def test_a_manual_weight_pauses_a_running_migration_and_resume_restores_the_plan() -> None:
    """The plan never silently diverges: overridden + paused at the manual weight, then resume."""
    rig = Rig()
    rig.controller.start(plan(Step(1000, hold_s=600), Step(5000)))
    rig.drive(3)
    rig.weights.operator_sets(ROUTE, 9800, reason="hotfix traffic")
    state = rig.state()
    assert (state.phase, state.weight_bps) == (Phase.PAUSED, 9800)
    assert rig.kinds()[-1] == "overridden"
    rig.drive(5)
    assert rig.weights.weights[ROUTE] == 9800  # the operator's weight stands while paused
    resumed = rig.controller.resume(ROUTE)
    assert (resumed.phase, resumed.weight_bps) == (Phase.RUNNING, 1000)
    assert rig.weights.weights[ROUTE] == 1000


def test_the_stored_weight_is_reapplied_when_the_live_one_differs() -> None:
    """A weight changed behind the controller's back (no listener) is reconciled next step."""
    rig = Rig()
    rig.controller.start(plan(Step(1000, hold_s=600)))
    rig.weights.weights[ROUTE] = 7000
    rig.controller.step()
    assert rig.weights.weights[ROUTE] == 1000


def test_a_hung_candidate_is_rolled_back_within_two_evaluations() -> None:
    """Attempts that never finish are stuck after 1 s: a hard failure, without any finished one."""
    rig = Rig()
    rig.controller.start(plan(Step(5000, hold_s=600), Step(10_000)))
    rig.drive(20)
    rig.traffic.hung = rig.inflight
    decisions = rig.drive(2)
    assert decisions[-1] is Decision.ROLLBACK
    assert rig.state().phase is Phase.ROLLED_BACK
    assert rig.weights.weights[ROUTE] == 0
    event = rig.store.events(ROUTE)[-1]
    assert event.numbers["stuck"]["status"] == "fail"
    assert rig.sample("cutover_rollbacks_total", route=ROUTE, reason="stuck") == 1
    oldest = rig.sample(
        "cutover_analysis_inflight_oldest_seconds", route=ROUTE, backend="candidate"
    )
    assert oldest is not None
    assert oldest > 1.0


def test_hold_time_does_not_accrue_while_a_candidate_attempt_hangs() -> None:
    """One attempt stuck past the latency limit stops the hold clock and blocks promotion."""
    rig = Rig()
    rig.controller.start(plan(Step(5000, hold_s=30, min_requests=10), Step(10_000)))
    rig.drive(10)
    rig.inflight.start(ROUTE, "candidate")
    rig.drive(40)
    state = rig.state()
    assert state.step_index == 0
    assert state.held_s(rig.clock.now) == pytest.approx(10.0, abs=1.0)
    assert rig.controller.conditions(ROUTE) == ["candidate_stuck"]
    rig.inflight.finish(ROUTE, "candidate")
    rig.drive(25)
    assert rig.state().step_index == 1
    assert rig.controller.conditions(ROUTE) == []


def test_a_degraded_baseline_holds_with_one_event_per_episode() -> None:
    """A dead control: hold, one baseline_degraded event, no promotion; recovered afterwards."""
    rig = Rig()
    rig.controller.start(plan(Step(1000, hold_s=5, min_requests=10), Step(5000)))
    rig.traffic.baseline_down = True
    rig.drive(15)
    assert rig.state().step_index == 0
    assert rig.kinds().count("baseline_degraded") == 1
    assert rig.controller.conditions(ROUTE) == ["baseline_degraded"]
    labels = {"route": ROUTE, "condition": "baseline_degraded"}
    assert rig.registry.get_sample_value("cutover_migration_condition", labels) == 1
    rig.traffic.baseline_down = False
    rig.drive(15)
    assert rig.kinds().count("baseline_recovered") == 1
    assert rig.state().step_index == 1


def test_the_auto_fallback_deadline_is_published_from_the_baseline_p99() -> None:
    """Each evaluation publishes 3 x the baseline's p99 once it has enough samples."""
    rig = Rig()
    rig.controller.start(plan(Step(1000, hold_s=600)))
    rig.drive(3)
    window = rig.metrics.window(ROUTE, "baseline", 10.0)
    p99 = window.p(0.99)
    assert p99 is not None
    assert rig.deadlines[ROUTE] == pytest.approx(3 * p99)


def test_every_operator_action_records_its_actor_and_reason() -> None:
    """start, pause, resume, promote, rollback, abort each name who acted and why in the event."""
    rig, who = Rig(), "admin:10.0.0.7"
    c = rig.controller
    c.start(plan(Step(1000), Step(5000), Step(10_000)), actor=who, reason="ticket 42")
    c.pause(ROUTE, actor=who, reason="deploy freeze")
    c.resume(ROUTE, actor=who, reason="freeze over")
    c.promote(ROUTE, "dashboards fine", actor=who)
    c.rollback(ROUTE, "p99 spikes", actor=who)
    c.resume(ROUTE, actor=who, reason="fixed")
    c.abort(ROUTE, actor=who, reason="postponed")
    events = rig.store.events(ROUTE, limit=100)
    assert [(e.kind, e.reasons[0]) for e in events] == [
        ("started", "started by admin:10.0.0.7: ticket 42"),
        ("paused", "paused by admin:10.0.0.7: deploy freeze"),
        ("resumed", "resumed by admin:10.0.0.7: freeze over"),
        ("promoted", "promoted by admin:10.0.0.7: dashboards fine"),
        ("rolled_back", "manual rollback by admin:10.0.0.7: p99 spikes"),
        ("resumed", "resumed by admin:10.0.0.7: fixed"),
        ("aborted", "aborted by admin:10.0.0.7: postponed"),
    ]
    assert events[1].numbers == {"actor": who, "reason": "deploy freeze"}
    assert events[-1].numbers == {"actor": who, "reason": "postponed"}
    assert events[0].reasons[1] == "plan ['10%', '50%', '100%']"
    assert events[5].reasons[1] == "retrying the step after a rollback"


def test_an_action_without_actor_or_reason_names_the_operator() -> None:
    """Defaults keep old call sites working: 'paused by operator', reason None in the numbers."""
    rig = Rig()
    rig.controller.start(plan(Step(1000), Step(10_000)))
    rig.controller.pause(ROUTE)
    (started, paused) = rig.store.events(ROUTE)
    assert started.numbers == {"actor": "operator", "reason": None}
    assert paused.reasons == ("paused by operator",)
    assert paused.numbers == {"actor": "operator", "reason": None}


def test_a_dry_run_records_every_step_and_never_changes_a_weight() -> None:
    """Analysis only: the plan walks to completion in the records, the live weight stays put."""
    rig = Rig()
    rig.weights.operator_sets(ROUTE, 2000)  # the operator's own 20 %
    rig.controller.start(
        plan(Step(1000, hold_s=5, min_requests=10), Step(10_000, hold_s=5, min_requests=10)),
        dry_run=True,
    )
    changes = len(rig.weights.calls)
    rig.drive(40)
    state = rig.state()
    assert (state.phase, state.weight_bps, state.dry_run) == (Phase.COMPLETED, 10_000, True)
    assert rig.weights.weights[ROUTE] == 2000
    assert len(rig.weights.calls) == changes
    events = rig.store.events(ROUTE, limit=100)
    promoted = [e for e in events if e.kind in ("promoted", "completed")]
    assert promoted
    assert all(e.reasons[0].startswith("[dry run]") for e in promoted)
    assert all(e.numbers.get("dry_run") for e in promoted)
    assert rig.sample("cutover_promotions_total", route=ROUTE) in (None, 0)


def test_a_dry_run_rollback_is_recorded_and_the_weight_stays() -> None:
    """A failing candidate in a dry run: rolled_back on record, the operator's weight in force."""
    rig = Rig()
    rig.weights.operator_sets(ROUTE, 5000)
    rig.controller.start(plan(Step(1000, hold_s=60, min_requests=10), Step(10_000)), dry_run=True)
    rig.traffic.unreachable = True
    rig.drive(5)
    assert rig.state().phase is Phase.ROLLED_BACK
    assert rig.weights.weights[ROUTE] == 5000
    rig.weights.operator_sets(ROUTE, 3000)  # a manual change does not pause it
    assert rig.state().phase is Phase.ROLLED_BACK
    assert rig.store.load_weights()[ROUTE] == 3000
