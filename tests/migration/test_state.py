"""The migration's persistent values round-trip through JSON, old rows included."""

from __future__ import annotations

import json

from migration.state import Phase, Snapshot

CHECKS = {
    "error_rate_limit": {
        "status": "fail",
        "candidate": 0.2,
        "baseline": 0.01,
        "threshold": 0.05,
        "samples": 150,
        "p_value": None,
    },
}


def through_json(snapshot: Snapshot) -> Snapshot:
    """What a SQL store does: ``json.dumps`` of ``to_dict`` in,
    ``json.loads`` then ``from_dict`` out."""
    return Snapshot.from_dict(json.loads(json.dumps(snapshot.to_dict())))


def test_snapshot_with_reasons_and_checks_round_trips() -> None:
    """Reasons come back as a tuple and checks as the same plain dict, equal to the original."""
    snap = Snapshot(
        "tasks",
        5.0,
        1000,
        "rollback",
        0.04,
        0.05,
        0.01,
        0.2,
        150,
        150,
        reasons=("error_rate_limit: 20% > 5%",),
        checks=CHECKS,
    )
    again = through_json(snap)
    assert again == snap
    assert again.reasons == ("error_rate_limit: 20% > 5%",)
    assert again.checks == CHECKS


def test_snapshot_to_dict_is_json_ready() -> None:
    """``to_dict`` gives a list of reasons and a plain dict of checks."""
    data = Snapshot("tasks", 5.0, 1000, "hold", reasons=("a", "b"), checks=CHECKS).to_dict()
    assert data["reasons"] == ["a", "b"]
    assert data["checks"] == CHECKS
    assert data["decision"] == "hold"


def test_snapshot_row_without_the_new_fields_still_loads() -> None:
    """A row written before reasons and checks were stored loads with both empty."""
    old = {
        "route": "tasks",
        "at": 5.0,
        "weight_bps": 1000,
        "decision": "hold",
        "baseline_p95": 0.04,
        "candidate_p95": None,
        "baseline_error_rate": 0.0,
        "candidate_error_rate": None,
        "baseline_requests": 10,
        "candidate_requests": 0,
    }
    snap = Snapshot.from_dict(old)
    assert snap.reasons == ()
    assert snap.checks == {}
    assert snap.baseline_p95 == 0.04
    assert through_json(snap) == snap


def test_snapshot_positional_fields_keep_their_order() -> None:
    """The headline numbers stay positional (the controller builds snapshots that way)."""
    snap = Snapshot("tasks", 5.0, 1000, "hold", 0.04, 0.05, 0.0, 0.01, 100, 10)
    assert (snap.candidate_requests, snap.reasons, snap.checks) == (10, (), {})


def test_active_phases_are_the_ones_a_new_start_must_abort_first() -> None:
    """Running, paused and awaiting a gate are active; pending, rolled back and finished are not."""
    active = {p for p in Phase if p.active}
    assert active == {Phase.RUNNING, Phase.PAUSED, Phase.AWAITING_GATE}
