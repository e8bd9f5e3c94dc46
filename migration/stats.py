"""Small, pure-Python significance tests for the analysis (no scipy).

Each returns a one-sided p-value: the probability of data at least this extreme if the candidate
were *not* worse. The analysis fails a check only when the observed difference is past its
threshold *and* the p-value is below the policy's alpha, so sampling noise does not trip it.

* :func:`two_proportion_greater` — is the candidate's error rate above the baseline's plus a margin?
  Unpooled z-test (Wald), suitable for a non-zero margin.
* :func:`proportion_greater` — is a rate above a fixed limit? One-sample z-test against the limit.

The latency check uses the last two on the tail: the share of candidate requests above the p95
limit against 5 % and against the baseline's share. A rank test of the whole distribution
(Mann-Whitney, Kayenta's choice) was tried first and dropped: a candidate that is faster for most
requests but slow for a quarter of them passes it while its p95 is several times worse.
"""

from __future__ import annotations

import math

__all__ = [
    "normal_sf",
    "proportion_greater",
    "two_proportion_greater",
]


def normal_sf(z: float) -> float:
    """Upper tail of the standard normal: P(Z > z)."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


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
