"""The significance tests behind the analysis, against hand-computed values."""

from __future__ import annotations

import math
import random

import pytest

from migration.sketch import LatencySketch
from migration.stats import (
    mann_whitney_greater,
    normal_sf,
    proportion_greater,
    two_proportion_greater,
)


def test_normal_sf_known_points() -> None:
    """The normal tail matches table values."""
    assert normal_sf(0.0) == pytest.approx(0.5)
    assert normal_sf(1.6448536) == pytest.approx(0.05, abs=1e-6)
    assert normal_sf(2.3263479) == pytest.approx(0.01, abs=1e-6)


def test_mann_whitney_detects_shift_and_not_noise() -> None:
    """A doubled distribution is highly significant; the same distribution is not."""
    rng = random.Random(3)
    base = LatencySketch.of(rng.lognormvariate(-4, 0.5) for _ in range(500))
    same = LatencySketch.of(rng.lognormvariate(-4, 0.5) for _ in range(500))
    slow = LatencySketch.of(2 * rng.lognormvariate(-4, 0.5) for _ in range(500))
    assert mann_whitney_greater(slow, base) < 1e-10
    assert mann_whitney_greater(same, base) > 0.01
    assert mann_whitney_greater(base, slow) > 0.99


def test_mann_whitney_ties_and_empty() -> None:
    """All values tied gives no evidence; an empty side gives p = 1."""
    tied = LatencySketch.of([0.1] * 50)
    assert mann_whitney_greater(tied, LatencySketch.of([0.1] * 50)) == 1.0
    assert mann_whitney_greater(LatencySketch(), tied) == 1.0


def test_mann_whitney_small_exact_case() -> None:
    """Complete separation of 3 vs 3 values gives U = 9 and the normal-approximation p."""
    p = mann_whitney_greater(LatencySketch.of([4.0, 5.0, 6.0]), LatencySketch.of([1.0, 2.0, 3.0]))
    # U = 9, mean 4.5, var = 9 * 7 / 12 = 5.25; z = (9 - 4.5 - 0.5) / sqrt(5.25)
    assert p == pytest.approx(normal_sf(4.0 / math.sqrt(5.25)))


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
