"""The JSON views of ``GET /migration``: the latest evaluation beside the last decision event."""

from __future__ import annotations

from typing import Any

import pytest

from migration.admin_views import latest_view, route_view
from migration.metrics import MigrationMetrics
from migration.plan import Plan, Step
from migration.state import Event, MigrationState, Phase, Snapshot
from migration.testing import FakeClock

PLAN = Plan("tasks", (Step(1000, hold_s=30.0), Step(10_000)))
CHECKS = {
    "samples": {
        "status": "inconclusive",
        "candidate": 40,
        "baseline": 400,
        "threshold": 100,
        "samples": 40,
        "p_value": None,
    }
}


def state(phase: Phase = Phase.RUNNING, weight_bps: int = 1000) -> MigrationState:
    return MigrationState("tasks", PLAN, phase, 0, weight_bps, 0.0, running_since=0.0)


def snap(at: float, *reasons: str, decision: str = "hold") -> Snapshot:
    return Snapshot("tasks", at, 1000, decision, reasons=reasons, checks=CHECKS)


def view(
    current: MigrationState | None,
    latest: Snapshot | None,
    events: tuple[Event, ...] = (),
    now: float = 100.0,
) -> dict[str, Any]:
    metrics = MigrationMetrics(FakeClock(now))
    return route_view(
        "tasks", None, current, metrics, 60.0, events, now, latest=latest, stale_after_s=15.0
    )


def test_latest_is_the_newest_evaluation_with_reasons_checks_and_age() -> None:
    """``latest`` carries the snapshot's decision, reasons, checks, ISO time and age."""
    latest = view(state(), snap(98.0, "too few samples (40/100)"))["latest"]
    assert latest == {
        "at": 98.0,
        "time": "1970-01-01T00:01:38.000Z",
        "decision": "hold",
        "reasons": ["too few samples (40/100)"],
        "checks": CHECKS,
        "age_s": 2.0,
        "stale": False,
    }


def test_latest_is_null_without_a_snapshot() -> None:
    """A route never evaluated has no latest evaluation."""
    assert view(state(), None)["latest"] is None
    assert view(None, None)["latest"] is None


def test_latest_differs_from_the_last_decision_event() -> None:
    """The event says why the decision last *changed*; ``latest`` says why it holds now."""
    old = Event(
        "tasks", 10.0, "decision_hold", Phase.RUNNING, 0, 1000, ("too few samples (1/100)",)
    )
    body = view(state(), snap(99.0, "holding: 12/30 s"), (old,))
    assert body["last_decision"]["reasons"] == ["too few samples (1/100)"]
    assert body["latest"]["reasons"] == ["holding: 12/30 s"]


@pytest.mark.parametrize(
    ("phase", "weight_bps", "age", "stale"),
    [
        (Phase.RUNNING, 1000, 15.0, False),  # exactly at the limit: still fresh
        (Phase.RUNNING, 1000, 15.5, True),
        (Phase.AWAITING_GATE, 1000, 60.0, True),
        (Phase.ROLLED_BACK, 1000, 60.0, True),  # step_down: still watched at 10 %
        (Phase.ROLLED_BACK, 0, 60.0, False),  # nothing left to evaluate
        (Phase.PAUSED, 1000, 60.0, False),
        (Phase.COMPLETED, 10_000, 600.0, False),
    ],
)
def test_stale_only_where_the_controller_evaluates(
    phase: Phase, weight_bps: int, age: float, stale: bool
) -> None:
    """An old evaluation is stale only for a route the controller evaluates every interval."""
    latest = latest_view(snap(100.0 - age), state(phase, weight_bps), 100.0, 15.0)
    assert latest is not None
    assert latest["stale"] is stale


def test_age_never_goes_negative() -> None:
    """A snapshot stamped ahead of this replica's clock reads as age 0, not negative."""
    latest = latest_view(snap(101.5), state(), 100.0, 15.0)
    assert latest is not None
    assert latest["age_s"] == 0.0
