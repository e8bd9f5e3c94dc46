"""Migration ids and the history folded from a route's events."""

from __future__ import annotations

from migration.history import find, histories, migration_id
from migration.state import Event, Phase

T0 = 1_796_550_000.0  # 2026-12-06 ... UTC


def event(
    at: float, kind: str, phase: Phase, weight: int = 0, ident: str = "r-1", *reasons: str
) -> Event:
    return Event("r", at, kind, phase, 0, weight, reasons, {}, ident)


def test_ids_are_the_route_and_its_start_second_made_unique() -> None:
    """``route-YYYYmmdd-HHMMSS``; a second start in the same second gets -2, then -3."""
    first = migration_id("tasks", T0)
    assert first.startswith("tasks-2026")
    assert len(first) == len("tasks-20261206-000000")
    assert migration_id("tasks", T0, first) == f"{first}-2"
    assert migration_id("tasks", T0, f"{first}-2") == f"{first}-3"
    assert migration_id("tasks", T0 + 1, first) != first


def test_a_completed_and_a_rolled_back_migration_each_get_a_record() -> None:
    """Outcome, duration, highest weight, rollbacks and the final reasons per id, newest first."""
    events = [
        event(T0, "started", Phase.RUNNING, 1000, "r-1", "started by admin"),
        event(T0 + 60, "promoted", Phase.RUNNING, 5000, "r-1", "healthy"),
        event(T0 + 120, "completed", Phase.COMPLETED, 10_000, "r-1", "healthy at 100%"),
        event(T0 + 200, "weight_set", Phase.PENDING, 0, ""),
        event(T0 + 300, "started", Phase.RUNNING, 1000, "r-2"),
        event(T0 + 330, "rolled_back", Phase.ROLLED_BACK, 0, "r-2", "latency_limit"),
    ]
    second, first = histories(events)
    assert (first.id, first.outcome, first.max_weight_bps, first.rollbacks) == (
        "r-1",
        "completed",
        10_000,
        0,
    )
    assert first.duration_s(T0 + 1000) == 120
    assert first.reasons == ("healthy at 100%",)
    assert (second.id, second.outcome, second.rollbacks, second.reasons) == (
        "r-2",
        "rolled_back",
        1,
        ("latency_limit",),
    )
    assert second.ended_at == T0 + 330


def test_a_resumed_rollback_is_active_again() -> None:
    """A rollback the operator resumed is not the end: no end time, the duration runs on."""
    events = [
        event(T0, "started", Phase.RUNNING, 1000),
        event(T0 + 30, "rolled_back", Phase.ROLLED_BACK, 0, "r-1", "error_rate"),
        event(T0 + 90, "resumed", Phase.RUNNING, 1000, "r-1", "resumed by admin"),
    ]
    (record,) = histories(events)
    assert record.outcome == "running"
    assert record.ended_at is None
    assert record.duration_s(T0 + 100) == 100
    assert record.rollbacks == 1


def test_events_from_before_ids_are_grouped_by_their_start() -> None:
    """Legacy events (no id) belong to the start before them, under the id it would have had."""
    events = [
        event(T0, "started", Phase.RUNNING, 1000, ""),
        event(T0 + 10, "aborted", Phase.ABORTED, 0, "", "aborted by admin"),
    ]
    (record,) = histories(events)
    assert record.id == migration_id("r", T0)
    assert record.outcome == "aborted"
    assert find(events, record.id) == record
    assert find(events, "nope") is None
