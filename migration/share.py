"""Is the weight the traffic share? The observed candidate share of a step against its weight.

Routing sticks on a key (``X-API-Key``, then ``Authorization``, then the client address): every
request of one key goes to the same backend, so a step's real share is the share of *keys* in the
candidate's buckets, weighted by their traffic. With a handful of keys — under ``cutover up`` all
authenticated traffic shares one — a 50 % step can send nothing to the candidate, and 100 % moves
everything at once (issue #15 item 1). The analysis then waits for candidate samples that never
come, and the operator sees a weight that is not what happens.

:func:`share_mismatch` is the pure judgement the controller runs every evaluation over the step's
requests (both backends' upstream attempts since the step began; a fallback counts on both sides,
which only matters when many fail). It warns when the observed share is off the weight by more
than ``tolerance`` *and* by more than four binomial standard deviations (so a few hundred requests
of independent keys never warn by chance: 4 sd is a 1-in-15,000 event per look). Steps at 0 % and
100 % are not judged: they split nothing. The warning is a condition (``share_mismatch``, listed in
``cutover status`` under the phase) with one event per episode; it does not hold or roll back —
what the candidate did serve is still judged on its own merits.
"""

from __future__ import annotations

import math

from migration.plan import MAX_BPS

__all__ = ["share_mismatch"]

#: Standard deviations of a binomial share before a difference counts (see the module docstring).
SIGMAS = 4.0


def share_mismatch(
    weight_bps: int, baseline: int, candidate: int, tolerance: float, min_requests: int
) -> str | None:
    """The warning's reason when the candidate's share of ``baseline + candidate`` requests is
    not ``weight_bps``, else None (too few requests, or a 0 % / 100 % step)."""
    total = baseline + candidate
    weight = weight_bps / MAX_BPS
    if total < min_requests or not 0 < weight < 1:
        return None
    observed = candidate / total
    sd = math.sqrt(weight * (1 - weight) / total)
    if abs(observed - weight) <= max(tolerance, SIGMAS * sd):
        return None
    return (
        f"share_mismatch: the candidate served {observed:.1%} of the step's {total:,} requests "
        f"at a weight of {weight:.0%} (tolerance ±{tolerance * 100:g} pt): routing sticks on "
        "the client's key, so few distinct keys move together (cutover status shows how many)"
    )
