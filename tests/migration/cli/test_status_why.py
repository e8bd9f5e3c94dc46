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
        "tasks",
        None,
        state,
        MigrationMetrics(FakeClock(now)),
        60.0,
        events,
        now,
        latest=latest,
        stale_after_s=15.0,
    )
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
        "tasks",
        NOW - 1,
        "rolled_back",
        Phase.ROLLED_BACK,
        0,
        0,
        ("manual rollback by admin:10.0.0.7: bad canary",),
        {"actor": "admin:10.0.0.7", "reason": "bad canary"},
    )
    rolled = RUNNING.with_(phase=Phase.ROLLED_BACK, weight_bps=0, running_since=None)
    text = shown(hold(NOW - 5, "holding: 40/60 s"), (OLD_HOLD, manual), rolled)
    assert "rolled back: manual rollback by admin:10.0.0.7: bad canary" in text
    assert "holding" not in text


ROLLED = RUNNING.with_(phase=Phase.ROLLED_BACK, weight_bps=0, running_since=None)


def test_a_rolled_back_route_says_rolled_back_with_the_rollbacks_reasons() -> None:
    """After a rollback the why is the rollback's, never an older evaluation's "hold: …"."""
    checks: dict[str, Any] = {"latency_limit": {"status": "fail"}}
    auto = Event(
        "tasks",
        NOW - 3,
        "rolled_back",
        Phase.ROLLED_BACK,
        0,
        0,
        ("latency_limit: p95 900 ms > 500 ms",),
        checks,
    )
    text = shown(hold(NOW - 1, "latency_limit: 1/3 failing"), (OLD_HOLD, auto), ROLLED)
    assert "rolled back: latency_limit: p95 900 ms > 500 ms" in text
    assert "hold:" not in text


def test_an_abort_replaces_the_old_reason() -> None:
    """An aborted route shows the abort and its reason, not the evaluation before it."""
    abort = Event(
        "tasks",
        NOW - 1,
        "aborted",
        Phase.ABORTED,
        0,
        0,
        ("aborted by admin:10.0.0.7: wrong build",),
        {"actor": "admin:10.0.0.7"},
    )
    aborted = RUNNING.with_(phase=Phase.ABORTED, weight_bps=0, running_since=None)
    text = shown(hold(NOW - 5, "holding: 40/60 s"), (OLD_HOLD, abort), aborted)
    assert "aborted: aborted by admin:10.0.0.7: wrong build" in text
    assert "holding" not in text


def test_a_completed_migration_shows_no_gate_marker() -> None:
    """A finished plan whose last step had a gate shows neither the marker nor an old verdict."""
    gated = Plan("tasks", (Step(1000), Step(10_000, gate=True)))
    done = Event("tasks", NOW - 1, "completed", Phase.COMPLETED, 1, 10_000, ("healthy",))
    state = MigrationState("tasks", gated, Phase.COMPLETED, 1, 10_000, NOW - 1)
    text = shown(hold(NOW - 2, "holding"), (OLD_HOLD, done), state)
    assert "completed: healthy" in text
    assert "gate" not in text


def test_a_gate_shows_what_promote_would_enter() -> None:
    """Waiting at a gate says which weight the operator's promote enters, with the evaluation."""
    gated = Plan("tasks", (Step(1000), Step(10_000, gate=True)))
    state = MigrationState("tasks", gated, Phase.AWAITING_GATE, 0, 1000, NOW - 5)
    snap = hold(NOW - 1, "healthy", "gate: waiting for an operator to promote to 100%")
    text = shown(snap, (OLD_HOLD,), state)
    assert "waiting for an operator to promote to 100%: healthy" in text
    assert "⏸gate→100%" in text


def test_the_weight_cell_shows_the_observed_share_and_the_keys() -> None:
    """Beside the weight: the candidate's observed share and the distinct sticky keys."""
    metrics = MigrationMetrics(FakeClock(NOW))
    for _ in range(30):
        metrics.observe("tasks", "baseline", 200, 0.01, None)
    view = route_view("tasks", 5000, RUNNING, metrics, 60.0, (), NOW, ["share_mismatch"])
    view["weight"]["sticky_keys"] = 1
    console = Console(record=True, width=250, file=io.StringIO())
    console.print(render_status({"window_s": 60, "routes": [view]}))
    text = console.export_text()
    assert "50%" in text
    assert "saw 0%" in text
    assert "1 key" in text
    assert "share_mismatch" in text
