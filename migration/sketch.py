"""A mergeable latency sketch with bounded relative error (the DDSketch idea).

Why not a list of samples: a gateway at a few thousand requests per second would keep millions of
floats per window. Why not Prometheus' fixed histogram buckets: their quantiles are only as good as
the bucket edges an operator guessed. A log-bucketed sketch (Masson, Rim & Lee, "DDSketch", VLDB
2019) maps a value ``v`` to the bucket ``ceil(log_gamma(v))`` with ``gamma = (1 + a) / (1 - a)``;
every value in a bucket is within relative error ``a`` of the bucket's representative value, so any
quantile read from the bucket counts is within ``a`` of the exact sample quantile of the same rank.

Memory is bounded by the value range, not by the traffic: values are clamped to
``[MIN_VALUE, MAX_VALUE]`` (1 ns .. ~11.5 days in seconds), which is at most ~1,800 buckets at the
default 1 % accuracy, and real latencies occupy a few hundred. Sketches with the same accuracy merge
by adding bucket counts — that is how a sliding window combines its one-second buckets.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator

__all__ = ["DEFAULT_RELATIVE_ACCURACY", "MAX_VALUE", "MIN_VALUE", "LatencySketch"]

DEFAULT_RELATIVE_ACCURACY = 0.01
#: Values at or below this (seconds) count in the zero bucket; quantiles there read as 0.
MIN_VALUE = 1e-9
#: Values above this are clamped, so the key space (and memory) stays bounded.
MAX_VALUE = 1e6


class LatencySketch:
    """Counts of values per logarithmic bucket; quantiles within ``relative_accuracy``."""

    __slots__ = ("_bins", "_count", "_gamma", "_inv_log_gamma", "_sum", "_zero", "accuracy")

    def __init__(self, relative_accuracy: float = DEFAULT_RELATIVE_ACCURACY) -> None:
        if not 0.0 < relative_accuracy < 1.0:
            raise ValueError(f"relative_accuracy must be in (0, 1), got {relative_accuracy!r}")
        self.accuracy = relative_accuracy
        self._gamma = (1.0 + relative_accuracy) / (1.0 - relative_accuracy)
        self._inv_log_gamma = 1.0 / math.log(self._gamma)
        self._bins: dict[int, int] = {}
        self._zero = 0
        self._count = 0
        self._sum = 0.0

    # -- writing -------------------------------------------------------------------------------

    def add(self, value: float, count: int = 1) -> None:
        """Record ``value`` (seconds) ``count`` times; negative and NaN values are rejected."""
        if not value >= 0.0:  # also catches NaN
            raise ValueError(f"latency must be >= 0, got {value!r}")
        self._count += count
        self._sum += value * count
        if value <= MIN_VALUE:
            self._zero += count
            return
        key = self.key(min(value, MAX_VALUE))
        self._bins[key] = self._bins.get(key, 0) + count

    def key(self, value: float) -> int:
        """The bucket index of a positive ``value``."""
        return math.ceil(math.log(value) * self._inv_log_gamma)

    def merge(self, other: LatencySketch) -> None:
        """Add ``other``'s counts into this sketch (same accuracy required)."""
        if other.accuracy != self.accuracy:
            raise ValueError("cannot merge sketches with different relative accuracy")
        bins = self._bins
        for key, n in other._bins.items():
            bins[key] = bins.get(key, 0) + n
        self._zero += other._zero
        self._count += other._count
        self._sum += other._sum

    def clear(self) -> None:
        """Forget every value (used when a window bucket is recycled)."""
        self._bins.clear()
        self._zero = 0
        self._count = 0
        self._sum = 0.0

    # -- reading -------------------------------------------------------------------------------

    @property
    def count(self) -> int:
        """Number of recorded values."""
        return self._count

    @property
    def total(self) -> float:
        """Exact sum of recorded values (before clamping)."""
        return self._sum

    @property
    def bin_count(self) -> int:
        """Number of non-empty buckets: the sketch's memory footprint."""
        return len(self._bins) + (1 if self._zero else 0)

    def value_of(self, key: int) -> float:
        """Representative value of bucket ``key``: within the accuracy of everything in it."""
        return 2.0 * self._gamma**key / (self._gamma + 1.0)

    def quantile(self, q: float) -> float | None:
        """The ``q``-quantile (0..1) of the recorded values; ``None`` when empty.

        The rank convention is the lower one, ``floor(q * (n - 1))``, as in DDSketch.
        """
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"quantile must be in [0, 1], got {q!r}")
        if self._count == 0:
            return None
        rank = math.floor(q * (self._count - 1))
        seen = self._zero
        if seen > rank:
            return 0.0
        for key in sorted(self._bins):
            seen += self._bins[key]
            if seen > rank:
                return self.value_of(key)
        return self.value_of(max(self._bins))  # pragma: no cover - counts always cover the rank

    def count_above(self, threshold: float) -> int:
        """How many values fall in buckets entirely above ``threshold`` (a conservative count)."""
        if threshold <= MIN_VALUE:
            return self._count - self._zero
        limit = self.key(min(threshold, MAX_VALUE))
        return sum(n for key, n in self._bins.items() if key > limit)

    def buckets(self) -> Iterator[tuple[float, int]]:
        """``(representative value, count)`` in increasing value order, zero bucket first."""
        if self._zero:
            yield 0.0, self._zero
        for key in sorted(self._bins):
            yield self.value_of(key), self._bins[key]

    def log_moments(self, low: float, high: float) -> tuple[int, float, float]:
        """``(count, mean, variance)`` of the natural log of the values, each clamped to
        ``[low, high]`` (winsorised; ``0 < low <= high``).

        Read from the buckets' representative values, so each log is within about
        ``accuracy`` of the exact one; the zero bucket counts as ``low``. The variance is the
        sample one (``n - 1``); ``(0, 0.0, 0.0)`` when empty.
        """
        if not 0.0 < low <= high:
            raise ValueError(f"need 0 < low <= high, got {low!r}, {high!r}")
        n = self._count
        if n == 0:
            return 0, 0.0, 0.0
        log_low, log_high = math.log(low), math.log(high)
        offset = math.log(2.0 / (self._gamma + 1.0))
        log_gamma = 1.0 / self._inv_log_gamma
        logs = [(log_low, self._zero)] if self._zero else []
        logs += [
            (min(max(key * log_gamma + offset, log_low), log_high), count)
            for key, count in self._bins.items()
        ]
        mean = sum(value * count for value, count in logs) / n
        square = sum((value - mean) ** 2 * count for value, count in logs)
        variance = square / (n - 1) if n > 1 else 0.0
        return n, mean, variance

    def keyed_counts(self) -> dict[int | None, int]:
        """Counts per bucket key (``None`` is the zero bucket), for rank tests across sketches."""
        out: dict[int | None, int] = {key: n for key, n in self._bins.items()}
        if self._zero:
            out[None] = self._zero
        return out

    @classmethod
    def of(
        cls, values: Iterable[float], relative_accuracy: float = DEFAULT_RELATIVE_ACCURACY
    ) -> LatencySketch:
        """A sketch holding ``values`` (convenient in tests and simulations)."""
        sketch = cls(relative_accuracy)
        for value in values:
            sketch.add(value)
        return sketch

    @classmethod
    def merged(cls, sketches: Iterable[LatencySketch]) -> LatencySketch:
        """A new sketch holding the union of ``sketches``."""
        out: LatencySketch | None = None
        for sketch in sketches:
            if out is None:
                out = cls(sketch.accuracy)
            out.merge(sketch)
        return out if out is not None else cls()
