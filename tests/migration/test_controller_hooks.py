"""The controller's notification and hook seams, on a fake clock with the
fakes from migration.testing."""

from __future__ import annotations

from migration.plan import Step
from migration.seams import GateAnswer
from migration.state import Phase
from migration.testing import RecordingSink, ScriptedGate
from tests.migration.test_controller import ROUTE, Rig, plan

PENDING = GateAnswer(False, ("pre-promotion hook: waiting for its answer",))
DENIED = GateAnswer(
    False,
    ("pre-promotion hook denied (HTTP 409); asking again in 15 s",),
    {"verdict": "denied", "status": 409},
)
APPROVED = GateAnswer(True, ("pre-promotion hook approved (HTTP 200)",), {"verdict": "approved"})


def rig_with(gate: ScriptedGate | None = None, sink: RecordingSink | None = None) -> Rig:
    rig = Rig()
    rig.controller.gate = gate
    rig.controller.recorder.sinks = (sink,) if sink is not None else ()
    return rig


def test_sinks_hear_every_committed_event_with_its_state() -> None:
    """Each recorded event reaches the sinks once, after its commit, with the state committed."""
    sink = RecordingSink()
    rig = rig_with(sink=sink)
    rig.controller.start(plan(Step(1000, hold_s=5, min_requests=10), Step(10_000, hold_s=5)))
    rig.drive(60)
    assert sink.kinds == rig.kinds()
    assert sink.kinds[0] == "started"
    assert sink.kinds[-1] == "completed"
    event, state = sink.emitted_events[-1]
    assert state is not None
    assert (state.phase, event.weight_bps) == (Phase.COMPLETED, 10_000)


def test_a_failing_sink_changes_nothing() -> None:
    """A sink that raises is logged; the migration goes on exactly as without it."""
    rig = rig_with(sink=RecordingSink(fail=True))
    rig.controller.start(plan(Step(1000, hold_s=5, min_requests=10), Step(10_000, hold_s=5)))
    rig.drive(60)
    assert rig.state().phase is Phase.COMPLETED


def test_manual_weight_without_a_migration_is_emitted_without_state() -> None:
    """A weight set on a route with no migration reaches the sinks with state None."""
    sink = RecordingSink()
    rig = rig_with(sink=sink)
    rig.weights.operator_sets("other", 2500, reason="canary by hand")
    (event, state) = sink.emitted_events[-1]
    assert (event.kind, event.route, state) == ("weight_set", "other", None)


def test_pending_gate_holds_the_step_and_says_so_once() -> None:
    """Until the hook answers, the step holds at its weight, with one awaiting_hook event."""
    gate = ScriptedGate([PENDING])
    rig = rig_with(gate)
    rig.controller.start(plan(Step(1000, hold_s=5, min_requests=10), Step(10_000)))
    rig.drive(60)
    state = rig.state()
    assert (state.phase, state.step_index, state.weight_bps) == (Phase.RUNNING, 0, 1000)
    assert rig.kinds().count("awaiting_hook") == 1
    assert len(gate.asked) > 10  # asked at every promote verdict, answered at once
    latest = rig.store.snapshots(ROUTE)[-1]
    assert latest.decision == "awaiting_hook"
    assert latest.reasons[0].startswith("pre-promotion hook: waiting")


def test_denied_then_approved_promotes_with_both_outcomes_recorded() -> None:
    """A denial holds and is recorded; a later approval is recorded and the step is promoted."""
    gate = ScriptedGate([PENDING, DENIED, PENDING, APPROVED, GateAnswer(True)])
    rig = rig_with(gate)
    rig.controller.start(plan(Step(1000, hold_s=5, min_requests=10), Step(10_000, hold_s=1e6)))
    rig.drive(60)
    assert rig.state().step_index == 1
    hooks = [e for e in rig.store.events(ROUTE) if e.kind == "hook"]
    assert [e.numbers["hook"]["verdict"] for e in hooks] == ["denied", "approved"]
    assert hooks[0].reasons == DENIED.reasons
    kinds = rig.kinds()
    assert kinds.index("hook") < kinds.index("promoted")
    promoted = next(e for e in rig.store.events(ROUTE) if e.kind == "promoted")
    assert promoted.reasons[-1] == "pre-promotion hook approved (HTTP 200)"
    assert rig.weights.weights[ROUTE] == 10_000


def test_rollback_never_asks_the_gate() -> None:
    """A failing candidate rolls back at once while a gate holds promotion; the gate isn't asked."""
    gate = ScriptedGate([PENDING])
    rig = rig_with(gate)
    rig.controller.start(plan(Step(5000, hold_s=1e6, min_requests=10**6)))
    rig.drive(15)
    rig.traffic.unreachable = True
    rig.drive(1)
    assert rig.state().phase is Phase.ROLLED_BACK
    assert gate.asked == []


def test_operator_promotions_and_manual_gates_bypass_the_hook() -> None:
    """A manual gate is the operator's approval; promote() does not ask the hook."""
    gate = ScriptedGate([PENDING])
    rig = rig_with(gate)
    gated = Step(1000, hold_s=5, min_requests=10, gate=True)
    # Both steps gated: the first promotion waits for an operator whether a gate guards the way
    # out of its step or the way into it.
    rig.controller.start(plan(gated, Step(5000, gate=True), Step(10_000)))
    rig.drive(30)
    assert rig.state().phase is Phase.AWAITING_GATE
    rig.controller.promote(ROUTE, "looks good")
    assert rig.state().step_index == 1
    assert gate.asked == []


def test_note_records_an_event_at_the_current_state() -> None:
    """note() (a post-rollback hook's outcome) adds an event; phase and weight stay as they were."""
    sink = RecordingSink()
    rig = rig_with(sink=sink)
    rig.controller.start(plan(Step(1000, hold_s=1e6)))
    rig.controller.note(ROUTE, "hook", ["post-rollback hook delivered (HTTP 200)"], {"hook": {}})
    state = rig.state()
    assert (state.phase, state.weight_bps) == (Phase.RUNNING, 1000)
    assert rig.kinds()[-1] == "hook"
    assert sink.kinds[-1] == "hook"
    rig.controller.note("unknown", "hook", ["x"], {})  # a route without a migration: nothing
    assert rig.store.events("unknown") == []


def test_a_dry_run_asks_no_hook() -> None:
    """A dry run's promotions change no weight: the promotion gate is never asked."""
    gate = ScriptedGate([PENDING])
    rig = rig_with(gate)
    rig.weights.operator_sets(ROUTE, 2000)  # the traffic a dry run judges is the operator's
    steps = (Step(1000, hold_s=5, min_requests=10), Step(10_000, hold_s=5, min_requests=10))
    rig.controller.start(plan(*steps), dry_run=True)
    rig.drive(40)
    assert rig.state().phase is Phase.COMPLETED
    assert gate.asked == []
