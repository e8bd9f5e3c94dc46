"""The member loops' timing: publications and reads keep to the wall clock's quarter seconds."""

from __future__ import annotations

import pytest

from migration.cluster.member import BEAT_PHASE_S, READ_PHASE_S, until_phase

T0 = 1_764_000_000.0  # a bucket boundary


@pytest.mark.parametrize(
    ("now", "phase", "wait"),
    [
        (T0, 0.02, 0.27),  # 0.02 is too close: the next one
        (T0 + 0.01, 0.02, 0.26),
        (T0 + 0.03, 0.02, 0.24),
        (T0 + 0.5, 0.1, 0.1),
        (T0 + 0.76, 0.1, 0.09),
        (T0 + 0.83, 0.1, 0.27),  # 0.85 is too close
        (T0 + 0.9, 0.1, 0.2),
    ],
)
def test_until_phase_waits_for_the_next_phase_at_least_a_fifth_of_a_period(
    now: float, phase: float, wait: float
) -> None:
    """The wait ends ``phase`` past a quarter second, never sooner than 50 ms from now."""
    assert until_phase(now, phase) == pytest.approx(wait, abs=1e-6)


def test_members_publish_before_the_leader_reads() -> None:
    """Within each quarter second a member's publication comes before the leader's read."""
    assert 0 <= BEAT_PHASE_S < READ_PHASE_S < 0.25
