"""Small, pure-Python significance tests for the analysis (no scipy).

Each returns a one-sided p-value: the probability of data at least this extreme if the candidate
were *not* worse. The analysis fails a check only when the observed difference is past its
threshold *and* the p-value is below the policy's alpha, so sampling noise does not trip it.

* :func:`mann_whitney_greater` — is the candidate's latency distribution shifted up? Computed from
  the two sketches' bucket counts (values in one bucket are ties), with the tie-corrected variance
  and a continuity-corrected normal approximation (Lehmann, *Nonparametrics*, 1975, ch. 1).
* :func:`two_proportion_greater` — is the candidate's error rate above the baseline's plus a margin?
  Unpooled z-test (Wald), suitable for a non-zero margin.
* :func:`proportion_greater` — is a rate above a fixed limit? One-sample z-test against the limit.
"""

from __future__ import annotations

import math

from migration.sketch import LatencySketch

__all__ = [
    "mann_whitney_greater",
    "normal_sf",
    "proportion_greater",
    "two_proportion_greater",
]

_ZERO_KEY = -(2**62)  # the zero bucket sorts before every real bucket


def normal_sf(z: float) -> float:
    """Upper tail of the standard normal: P(Z > z)."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def mann_whitney_greater(candidate: LatencySketch, baseline: LatencySketch) -> float:
    """One-sided p-value that ``candidate`` values tend to exceed ``baseline`` values."""
    n1, n2 = candidate.count, baseline.count
    if n1 == 0 or n2 == 0:
        return 1.0
    cand = {(_ZERO_KEY if k is None else k): n for k, n in candidate.keyed_counts().items()}
    base = {(_ZERO_KEY if k is None else k): n for k, n in baseline.keyed_counts().items()}
    rank_sum = 0.0
    below = 0
    tie_term = 0.0
    for key in sorted(cand.keys() | base.keys()):
        c, b = cand.get(key, 0), base.get(key, 0)
        tied = c + b
        rank_sum += c * (below + (tied + 1) / 2.0)
        tie_term += tied**3 - tied
        below += tied
    n = n1 + n2
    u = rank_sum - n1 * (n1 + 1) / 2.0
    mean = n1 * n2 / 2.0
    variance = n1 * n2 / 12.0 * ((n + 1) - tie_term / (n * (n - 1)))
    if variance <= 0:
        return 1.0
    z = (u - mean - 0.5) / math.sqrt(variance)
    return normal_sf(z)


def two_proportion_greater(
    bad1: int, n1: int, bad2: int, n2: int, margin: float = 0.0
) -> tuple[float, float]:
    """``(z, p)`` for H1: rate1 > rate2 + margin (unpooled standard error)."""
    if n1 == 0 or n2 == 0:
        return 0.0, 1.0
    p1, p2 = bad1 / n1, bad2 / n2
    diff = p1 - p2 - margin
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    if se == 0.0:
        # Both rates are exactly 0 or 1: no noise to test against, the difference is what it is.
        return (math.inf, 0.0) if diff > 0 else (-math.inf, 1.0)
    z = diff / se
    return z, normal_sf(z)


def proportion_greater(bad: int, n: int, limit: float) -> tuple[float, float]:
    """``(z, p)`` for H1: the true rate behind ``bad / n`` exceeds ``limit`` (0 < limit < 1)."""
    if n == 0:
        return 0.0, 1.0
    if limit <= 0.0:
        return (math.inf, 0.0) if bad > 0 else (-math.inf, 1.0)
    if limit >= 1.0:
        return -math.inf, 1.0
    se = math.sqrt(limit * (1 - limit) / n)
    z = (bad / n - limit) / se
    return z, normal_sf(z)
