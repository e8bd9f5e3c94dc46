"""``cutover status`` explains each route by its latest evaluation, and flags one gone stale.

Views are built by :func:`migration.admin_views.route_view`, the function ``GET /migration``
serves, so the table is tested against the real shape.
"""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console

from migration.admin_views import route_view
from migration.cli.operator import render_status
from migration.metrics import MigrationMetrics
from migration.plan import Plan, Step
from migration.state import Event, MigrationState, Phase, Snapshot
from migration.testing import FakeClock

NOW = 1000.0
PLAN = Plan("tasks", (Step(1000), Step(10_000)))
RUNNING = MigrationState("tasks", PLAN, Phase.RUNNING, 0, 1000, 900.0, running_since=900.0)
OLD_HOLD = Event(
    "tasks", 910.0, "decision_hold", Phase.RUNNING, 0, 1000, ("too few samples (1/100)",)
)


def shown(
    latest: Snapshot | None,
    events: tuple[Event, ...] = (OLD_HOLD,),
    state: MigrationState = RUNNING,
    now: float = NOW,
) -> str:
    """The status table's text for one route."""
    view = route_view(
        "tasks", None, state, MigrationMetrics(FakeClock(now)), 60.0, events, now,
        latest=latest, stale_after_s=15.0,
    )  # fmt: skip
    console = Console(record=True, width=250, file=io.StringIO())
    console.print(render_status({"window_s": 60, "routes": [view]}))
    return console.export_text()


def hold(at: float, *reasons: str) -> Snapshot:
    return Snapshot("tasks", at, 1000, "hold", reasons=reasons)


def test_the_latest_evaluation_is_the_why_not_the_old_event() -> None:
    """A fresh evaluation's reasons replace the decision event's outdated ones."""
    text = shown(hold(NOW - 2, "holding: 40/60 s"))
    assert "hold: holding: 40/60 s" in text
    assert "1/100" not in text
    assert "ago" not in text


def test_without_an_evaluation_the_last_decision_event_is_shown() -> None:
    """No snapshot (or one stored before reasons were): the event's reasons, as before."""
    assert "hold: too few samples (1/100)" in shown(None)
    assert "hold: too few samples (1/100)" in shown(hold(NOW - 2))
    assert "—" in shown(None, events=())


def test_a_stale_evaluation_says_how_old_it_is() -> None:
    """Older than three intervals on a running route: the why ends with its age."""
    text = shown(hold(NOW - 42, "holding: 40/60 s"))
    assert "hold: holding: 40/60 s (last evaluation 42 s ago)" in text


def test_an_operator_rollback_after_the_evaluation_is_the_why() -> None:
    """An operator's rollback made since the latest evaluation is newer, so it is shown."""
    manual = Event(
        "tasks", NOW - 1, "rolled_back", Phase.ROLLED_BACK, 0, 0,
        ("manual rollback by admin:10.0.0.7: bad canary",),
        {"actor": "admin:10.0.0.7", "reason": "bad canary"},
    )  # fmt: skip
    rolled = RUNNING.with_(phase=Phase.ROLLED_BACK, weight_bps=0, running_since=None)
    text = shown(hold(NOW - 5, "holding: 40/60 s"), (OLD_HOLD, manual), rolled)
    assert "rollback: manual rollback by admin:10.0.0.7: bad canary" in text
    assert "holding" not in text


def test_an_automatic_rollback_shows_the_evaluation_that_made_it() -> None:
    """The controller's own rollback event shares its evaluation: the evaluation's why is shown."""
    checks: dict[str, Any] = {"error_rate_limit": {"status": "fail"}}
    snap = Snapshot(
        "tasks", NOW - 1, 1000, "rollback", reasons=("error_rate_limit: 100% > 5%",), checks=checks
    )
    auto = Event(  # committed a moment after the snapshot was taken; other reasons, to tell
        "tasks", NOW - 1 + 1e-6, "rolled_back", Phase.ROLLED_BACK, 0, 0,
        ("the event's copy",), checks,
    )  # fmt: skip
    text = shown(snap, (OLD_HOLD, auto))
    assert "rollback: error_rate_limit: 100% > 5%" in text
    assert "the event's copy" not in text
