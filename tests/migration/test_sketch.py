"""LatencySketch: bounded relative error, merging, bounded memory."""

from __future__ import annotations

import math
import random
import statistics

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migration.sketch import MAX_VALUE, LatencySketch

values = st.lists(
    st.floats(min_value=1e-6, max_value=1e4, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=400,
)
quantiles = st.floats(min_value=0.0, max_value=1.0)


def exact(data: list[float], q: float) -> float:
    """The exact sample quantile with the sketch's rank convention."""
    return sorted(data)[math.floor(q * (len(data) - 1))]


@settings(max_examples=200, deadline=None)
@given(values, quantiles)
def test_quantile_within_one_percent(data: list[float], q: float) -> None:
    """Any quantile is within 1 % relative error of the exact sample quantile."""
    sketch = LatencySketch.of(data)
    got = sketch.quantile(q)
    want = exact(data, q)
    assert got is not None
    assert abs(got - want) <= 0.01 * want + 1e-12


@settings(max_examples=100, deadline=None)
@given(values, values, quantiles)
def test_merge_equals_sketch_of_union(a: list[float], b: list[float], q: float) -> None:
    """Merging two sketches answers like one sketch of both inputs, within 1 %."""
    merged = LatencySketch.merged([LatencySketch.of(a), LatencySketch.of(b)])
    assert merged.count == len(a) + len(b)
    got = merged.quantile(q)
    want = exact(a + b, q)
    assert got is not None
    assert abs(got - want) <= 0.01 * want + 1e-12


def test_memory_is_bounded_by_value_range() -> None:
    """A million lognormal latencies occupy a few hundred buckets, not a million floats."""
    rng = random.Random(1)
    sketch = LatencySketch()
    for _ in range(200_000):
        sketch.add(rng.lognormvariate(math.log(0.02), 1.0))
    assert sketch.count == 200_000
    assert sketch.bin_count < 700


def test_extremes_are_clamped_and_zero_counts() -> None:
    """Zero goes to the zero bucket; huge values are clamped so the key space stays finite."""
    sketch = LatencySketch.of([0.0, 0.0, 1e12])
    assert sketch.quantile(0.0) == 0.0
    top = sketch.quantile(1.0)
    assert top is not None
    assert top == pytest.approx(MAX_VALUE, rel=0.01)


def test_empty_sketch_has_no_quantile() -> None:
    """An empty sketch answers None, not zero."""
    assert LatencySketch().quantile(0.95) is None


@pytest.mark.parametrize("bad", [-1.0, math.nan])
def test_rejects_negative_and_nan(bad: float) -> None:
    """Negative and NaN latencies are a caller bug and raise."""
    with pytest.raises(ValueError, match="latency"):
        LatencySketch().add(bad)


def test_rejects_bad_quantile_and_accuracy() -> None:
    """Out-of-range quantile or accuracy raises with a clear message."""
    with pytest.raises(ValueError, match="quantile"):
        LatencySketch.of([1.0]).quantile(1.5)
    with pytest.raises(ValueError, match="relative_accuracy"):
        LatencySketch(0.0)
    with pytest.raises(ValueError, match="different relative accuracy"):
        LatencySketch(0.01).merge(LatencySketch(0.02))


def test_count_above_is_conservative() -> None:
    """count_above counts only buckets entirely above the threshold."""
    sketch = LatencySketch.of([0.1] * 10 + [0.3] * 5 + [1.0] * 3)
    assert sketch.count_above(0.2) == 8
    assert sketch.count_above(0.5) == 3
    assert sketch.count_above(2.0) == 0


def test_log_moments_match_the_logs_of_the_values() -> None:
    """Mean and variance of log latency read from the buckets agree with the exact ones."""
    rng = random.Random(11)
    values = [math.exp(rng.gauss(-4.0, 0.5)) for _ in range(5000)]
    n, mean, variance = LatencySketch.of(values).log_moments(1e-9, 1e6)
    logs = [math.log(v) for v in values]
    assert n == 5000
    assert mean == pytest.approx(statistics.fmean(logs), abs=0.01)
    assert variance == pytest.approx(statistics.variance(logs), rel=0.01)


def test_log_moments_winsorise_and_count_zeros_as_the_floor() -> None:
    """Values outside [low, high] count as the nearest end; the zero bucket as low."""
    sketch = LatencySketch.of([0.0, 0.001, 0.01, 100.0])
    n, mean, _ = sketch.log_moments(0.001, 0.01)
    assert n == 4
    expected = (2 * math.log(0.001) + 2 * math.log(0.01)) / 4  # 0 and 0.001 low, 100 high
    assert mean == pytest.approx(expected, abs=0.02)
    assert LatencySketch().log_moments(0.001, 1.0) == (0, 0.0, 0.0)
    with pytest.raises(ValueError, match="low"):
        sketch.log_moments(0.0, 1.0)
