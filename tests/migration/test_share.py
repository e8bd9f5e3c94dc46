"""The observed candidate share against the weight: when a step's split is not what it says."""

from __future__ import annotations

import pytest

from migration.share import share_mismatch


def test_a_share_near_the_weight_is_fine() -> None:
    """48 % observed at a 50 % weight over 1,000 requests is within the tolerance."""
    assert share_mismatch(5000, 520, 480, 0.10, 200) is None


def test_one_sticky_key_on_the_baseline_warns_and_says_why() -> None:
    """Nothing reached the candidate at 50 %: the reason names the share, weight and the keys."""
    reason = share_mismatch(5000, 1000, 0, 0.10, 200)
    assert reason is not None
    assert "0.0% of the step's 1,000 requests at a weight of 50%" in reason
    assert "sticks on the client's key" in reason


def test_too_few_requests_are_not_judged() -> None:
    """Below the minimum the share is noise: no warning whatever it is."""
    assert share_mismatch(5000, 150, 0, 0.10, 200) is None


@pytest.mark.parametrize("weight", [0, 10_000])
def test_steps_that_split_nothing_are_not_judged(weight: int) -> None:
    """0 % and 100 % send everything one way by definition."""
    assert share_mismatch(weight, 1000, 0, 0.10, 200) is None
    assert share_mismatch(weight, 0, 1000, 0.10, 200) is None


def test_a_small_sample_needs_more_than_the_tolerance() -> None:
    """At 200 requests and 50 %, 4 sd (14 pt) is wider than 10 pt: 37 % does not warn, 30 % does."""
    assert share_mismatch(5000, 126, 74, 0.10, 200) is None
    assert share_mismatch(5000, 140, 60, 0.10, 200) is not None
