"""Slot and settled_through: the leader's per-bucket bookkeeping, as plain values."""

from __future__ import annotations

import pytest

from migration.cluster.evidence import BackendBucket, RouteBucket
from migration.cluster.slots import Slot, settled_through


def part(n: int, *, partial: bool = True) -> RouteBucket:
    return RouteBucket(backends={"baseline": BackendBucket(n)}, partial=partial)


def test_take_replaces_partials_and_completes_once() -> None:
    """Larger partials replace, smaller or equal ones and anything after completion are refused."""
    slot = Slot(RouteBucket())
    assert slot.take("r1", part(2), 8) == (True, None)
    held = slot.partials["r1"]
    assert slot.take("r1", part(2), 8) == (False, held)
    assert slot.take("r1", part(5), 8) == (True, held)
    newer = slot.partials["r1"]
    assert slot.take("r1", part(6, partial=False), 8) == (True, newer)
    assert slot.take("r1", part(9), 8)[0] is False
    assert slot.take("r1", part(6, partial=False), 8)[0] is False
    assert [p.backends["baseline"].requests for p in slot.parts()] == [6]
    assert slot.replicas == {"r1"}


def test_take_refuses_a_new_partial_past_the_cap() -> None:
    """At the cap a new replica's partial is refused (False, None); completed buckets still add."""
    slot = Slot(RouteBucket())
    assert slot.take("a", part(1), 1) == (True, None)
    assert slot.take("b", part(1), 1) == (False, None)
    assert slot.take("b", part(3, partial=False), 1) == (True, None)
    assert sum(p.backends["baseline"].requests for p in slot.parts()) == 4


def slots_of(rows: dict[int, dict[str, bool]]) -> dict[int, Slot]:
    """``{tag: {replica: completed?}}`` as slots."""
    made = {}
    for tag, replicas in rows.items():
        slot = made[tag] = Slot(RouteBucket())
        for replica, completed in replicas.items():
            slot.take(replica, part(1, partial=not completed), 256)
    return made


@pytest.mark.parametrize(
    ("rows", "want"),
    [
        ({}, 8),  # nobody seen: by age
        ({9: {"a": True}}, 9),  # the only replica's completed row is in
        ({9: {"a": False}}, 8),  # still partial: not past
        ({9: {"a": True, "b": False}, 10: {"a": False}}, 8),  # b not past
        ({9: {"a": True}, 10: {"b": False}}, 9),  # b has a later row: past 9
        ({7: {"dead": False}, 9: {"a": True}}, 8),  # dead seen two buckets back: waited for
        ({6: {"dead": False}, 9: {"a": True}}, 9),  # three back: not waited for
        ({12: {"a": False}, 9: {"a": True}}, 9),  # a clock ahead within the kept range
    ],
)
def test_settled_through_waits_for_every_replica_recently_seen(
    rows: dict[int, dict[str, bool]], want: int
) -> None:
    """Bucket now - 1 settles once every replica seen in it or the two before is past it."""
    assert settled_through(slots_of(rows), 10, 2, 2) == want
