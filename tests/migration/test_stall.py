"""The progress deadline: a step that cannot decide says so once and does what the plan says."""

from __future__ import annotations

from migration.plan import Plan, Step
from migration.state import Phase
from tests.migration.test_controller import ROUTE, Rig


def thin_rig(on_stall: str = "hold") -> Rig:
    """20 requests/s at 10 %: 2 candidate requests/s, far too few to decide within 20 s."""
    rig = Rig()
    rig.traffic.rps = 20
    steps = (Step(1000, hold_s=5, min_requests=0, deadline_s=20), Step(10_000))
    rig.controller.start(Plan(ROUTE, steps, on_stall))
    return rig


def test_a_stalled_step_says_so_once_and_holds() -> None:
    """Past its deadline an undecided step records one stalled event, keeps its weight, alerts."""
    rig = thin_rig()
    rig.drive(19)
    assert "stalled" not in rig.kinds()
    rig.drive(10)
    assert rig.kinds().count("stalled") == 1
    state = rig.state()
    assert (state.phase, state.weight_bps) == (Phase.RUNNING, 1000)
    assert rig.controller.conditions(ROUTE) == ["stalled"]
    assert rig.sample("cutover_migration_condition", route=ROUTE, condition="stalled") == 1.0
    [event] = [e for e in rig.store.events(ROUTE) if e.kind == "stalled"]
    assert event.reasons[0].startswith("step 1 (10%) undecided after 2")
    assert "on_stall: hold" in event.reasons[0]
    assert any("candidate req/s" in r for r in event.reasons[1:])


def test_a_stalled_step_rolls_back_when_the_plan_says_so() -> None:
    """on_stall: rollback takes the candidate to 0 % with the stall as the reason."""
    rig = thin_rig("rollback")
    rig.drive(25)
    state = rig.state()
    assert (state.phase, state.weight_bps) == (Phase.ROLLED_BACK, 0)
    [event] = [e for e in rig.store.events(ROUTE) if e.kind == "rolled_back"]
    assert "undecided after" in event.reasons[0]
    assert rig.sample("cutover_rollbacks_total", route=ROUTE, reason="stalled") == 1.0


def test_the_stall_clears_when_the_step_moves_on() -> None:
    """An operator's promotion ends the episode: the next step has its own deadline."""
    rig = thin_rig()
    rig.drive(25)
    rig.controller.promote(ROUTE)
    rig.drive(2)
    assert rig.controller.conditions(ROUTE) == []
