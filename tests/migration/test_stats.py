"""The significance tests behind the analysis, against hand-computed values."""

from __future__ import annotations

import math

import pytest

from migration.stats import (
    normal_sf,
    proportion_greater,
    two_proportion_greater,
)


def test_normal_sf_known_points() -> None:
    """The normal tail matches table values."""
    assert normal_sf(0.0) == pytest.approx(0.5)
    assert normal_sf(1.6448536) == pytest.approx(0.05, abs=1e-6)
    assert normal_sf(2.3263479) == pytest.approx(0.01, abs=1e-6)


def test_two_proportion() -> None:
    """A big error-rate gap is significant, a gap inside the margin is not."""
    _, p = two_proportion_greater(60, 1000, 3, 1000, margin=0.005)
    assert p < 1e-6
    _, p = two_proportion_greater(6, 1000, 3, 1000, margin=0.005)
    assert p > 0.5
    assert two_proportion_greater(0, 100, 0, 100) == (-math.inf, 1.0)
    assert two_proportion_greater(1, 0, 0, 10) == (0.0, 1.0)


def test_one_proportion() -> None:
    """A rate against a fixed limit: far above is significant, at the limit is not."""
    assert proportion_greater(50, 1000, 0.01)[1] < 1e-9
    assert proportion_greater(10, 1000, 0.01)[1] == pytest.approx(0.5)
    assert proportion_greater(1, 10, 0.0) == (math.inf, 0.0)
    assert proportion_greater(0, 0, 0.01) == (0.0, 1.0)
