"""The current why in the phase's own words (pure: state, events, newest snapshot)."""

from __future__ import annotations

from migration.plan import Plan, Step
from migration.state import Event, MigrationState, Phase, Snapshot
from migration.why import current_why

PLAN = Plan("r", (Step(1000), Step(5000), Step(10_000)))


def state(phase: Phase, weight: int = 1000, index: int = 0) -> MigrationState:
    return MigrationState("r", PLAN, phase, index, weight, 100.0)


def test_no_migration_has_no_why_unless_a_weight_was_set_by_hand() -> None:
    """A route without a migration explains only a manual weight, with who set it and why."""
    assert current_why(None, (), None) is None
    manual = Event(
        "r", 5.0, "weight_set", Phase.PENDING, 0, 2000, ("weight 0% -> 20% set by admin:x",)
    )
    why = current_why(None, (manual,), None)
    assert why is not None
    assert why["text"] == "weight set by hand: weight 0% -> 20% set by admin:x"


def test_a_manual_weight_pauses_and_says_so() -> None:
    """A pause by a manual weight shows the override's event, headed "paused"."""
    override = Event("r", 120.0, "overridden", Phase.PAUSED, 0, 3000, ("weight set by admin:x",))
    why = current_why(state(Phase.PAUSED), (override,), Snapshot("r", 119.0, 1000, "hold"))
    assert why is not None
    assert why["text"] == "paused: weight set by admin:x"
    assert why["source"] == "event"


def test_a_step_down_rollback_appends_a_newer_rollback_verdict() -> None:
    """Rolled back to a lower step and failing again there: both rollbacks are named."""
    first = Event("r", 110.0, "rolled_back", Phase.ROLLED_BACK, 0, 1000, ("latency_limit",))
    again = Snapshot("r", 130.0, 1000, "rollback", reasons=("error_rate_limit",))
    why = current_why(state(Phase.ROLLED_BACK), (first,), again)
    assert why is not None
    assert why["reasons"] == ["latency_limit", "again at 10%: error_rate_limit"]
    assert why["decision"] == "rollback"


def test_an_operator_action_newer_than_the_evaluation_is_the_why() -> None:
    """A resume made after the newest evaluation explains the running route until the next one."""
    resumed = Event(
        "r",
        130.0,
        "resumed",
        Phase.RUNNING,
        0,
        1000,
        ("resumed by admin:x: fixed",),
        {"actor": "admin:x"},
    )
    why = current_why(
        state(Phase.RUNNING), (resumed,), Snapshot("r", 120.0, 1000, "hold", reasons=("a",))
    )
    assert why is not None
    assert why["text"] == "resumed: resumed by admin:x: fixed"
    newer = Snapshot("r", 131.0, 1000, "hold", reasons=("healthy",))
    assert current_why(state(Phase.RUNNING), (resumed,), newer)["text"] == "hold: healthy"  # type: ignore[index]
