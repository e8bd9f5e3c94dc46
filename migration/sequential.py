"""Always-valid comparisons of two rates (and of two means), for tests read at every evaluation.

The analysis re-tests every second while a step's evidence accumulates. A fixed-sample test read
that often rejects a true null far more often than its alpha ("peeking"); these bounds do not. Each
is a **confidence sequence**: with probability at least ``1 - alpha`` it holds at *every* sample
size at once, so stopping the first time it excludes a value is still a level-``alpha`` test.

The boundary is the normal-mixture one (Robbins 1970; the mixture SPRT of Johari, Pekelis and
Walsh, "Always valid inference", 2017; used for software deployments by Lindon et al., "Rapid
regression detection in software deployments through sequential testing", 2022). For an estimate
with variance ``V`` and a normal mixing distribution of scale ``tau`` over the effect, the mixture
likelihood ratio reaches ``1 / alpha`` exactly when the estimate is more than

    r(V) = sqrt(2 V (V + tau^2) / tau^2 * (log(1 / alpha) + log((V + tau^2) / V) / 2))

away from the tested value. ``tau`` is where the test is most powerful: the effect it looks for.

Decided here, and why (what a statistician reviewing Kayenta's Mann-Whitney judge would ask):

* **Proportions, not ranks.** Two quantities compared are shares of requests: errors, and requests
  slower than the baseline's p95 over the step. A rank test asks whether one distribution is
  shifted, and passes a candidate that is faster for most requests and far slower for a few (its
  p95 is what users feel); a share above a threshold is a binomial quantity with a known variance.
* **And a mean, where a share wastes the data.** A share reduces each request to one bit; for a
  uniform slowdown the mean of log latency (:func:`compare_means`, :mod:`migration.latency_shift`)
  is several times more efficient, and unlike a rank statistic it has a margin an operator can
  read ("5 % slower at the geometric mean"). Its variance is estimated (plug-in), which makes its
  bound an asymptotic confidence sequence: winsorising keeps the variance finite, and the tests
  measure the A/A rate with heavy tails (none in 100 runs at the budget, none in 200 at alpha
  5 % with no margin).
* **Harm: the variance at the edge of the null** (a score-type test): testing "the candidate's
  rate exceeds the baseline's by more than ``m``", the variance is taken where that is exactly true
  (candidate rate = baseline rate + ``m``). A handful of errors in a thin operation then weighs what
  it should (7 of 75 against 0.3 % is overwhelming) instead of being drowned by its own observed
  variance, and under the null it is never too small, so a false rollback stays rare.
* **Non-inferiority: Agresti-Caffo's "plus four"** (Agresti and Caffo, 2000): the difference and
  its observed (Wald) variance are computed with one event and one non-event added to each side,
  ``(x + 1) / (n + 2)``. The edge of *its* null is a candidate one point worse, whose variance is
  several times a healthy candidate's: Farrington-Manning's choice (the variance at that edge, as
  the harm test takes it) clears 1.5 % at the margin below and takes a healthy thin step's median
  from 250 s to 380 s, asking a thin route for far more traffic to show what the harm test watches
  anyway. The plain observed variance (this module's first form, rates smoothed by half an event
  in the variance only) was optimistic at small counts: a candidate exactly one point worse
  (1.3 % against 0.3 %, 20 and 60 samples a look), read 150 times, was cleared in 9.4 % and 10.4 %
  of runs (5,000 each, two seeds) at a 5 % budget. The added events pull a thin candidate's low
  observed rate up, in the estimate as well as in the variance; that is what brings it back:
  3.0 % and 3.8 % (in a count simulation, adding them to the variance alone gives 5.8 % for one a
  side, and 3.1 % for two at a higher price: a healthy 50 %-of-4 step shown within 360 s in 30 %
  of steps, not 57 %). The tail share's test, at its level
  already (10 % against 5 % at its 5-point margin: 5.0 % and 5.1 %), takes the same rule (2.8 %
  and 2.7 %): one estimator for every non-inferiority bound, and a thin step rarely waits on that
  test. ``tests/migration/test_sequential.py`` pins both at most 5 % on 1,000 runs; the harm test,
  read as often, stays under its budget. The price is paid by healthy thin steps, which show
  non-inferiority later. In a count simulation of the error test alone (2 candidate requests/s,
  0.3 % errors on both sides, 300 steps): shown within 360 s in 78 % of steps at 10 % of 20 req/s
  instead of 90 % (median 240 s instead of 95 s), and in 57 % at 50 % of 4 instead of 72 % (313 s
  instead of 263 s); in whole steps through the controller see the README's rollback table.
* **Alternatives measured, not taken** (issue #14, for thin routes). A one-sided mixture
  (half-normal over the alternatives below the margin: the question is one-sided, and it needs
  ~16 % fewer samples) clears 13 % in the test above with the first form's variance. None of the
  forms measured both keeps the budget and speeds a thin route, and none could reach "promotes
  within hold + 5 min in 95 % of steps" there: even an oracle, one look at 360 s that knows the
  baseline's error rate at every instant (a count test at 5 % and a 1-point margin, with more to
  go on than any sequential test deciding by then has), promotes at most 188 of the bench's 200
  healthy steps at 10 % of 20 req/s and 191 at 50 % of 4. The margin decides that row (the same
  bound at 1.5 points: 200 of 200), not the test's form.
* **Harm and non-inferiority are separate one-sided tests** with separate budgets. Harm (roll back)
  is "worse by more than the margin", non-inferiority (may promote) is "worse by less than the
  non-inferiority margin", shown, not merely not disproved. Between the two margins neither
  concludes and the step waits, until its progress deadline says so.
* **Budgets.** A rollback follows from *any* harm test, so the false-rollback budget is split
  evenly across them (Bonferroni). Promotion needs *every* non-inferiority test, an
  intersection-union test: each at the full promotion budget keeps the chance of promoting a
  candidate that is inferior on any one measure at most that budget.
* **Normal approximation.** Valid as counts grow; with few samples the binomial's skew makes it
  optimistic, so no test decides below ``Policy.seq_min_samples`` per side, and the whole-rollout
  simulation (``python -m bench rollback``) measures the false-rollback rate actually achieved.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "Comparison",
    "Moments",
    "Shift",
    "compare_means",
    "compare_rates",
    "radius",
    "samples_needed",
]


def radius(variance: float, alpha: float, tau: float) -> float:
    """Half-width of the normal-mixture confidence sequence for an estimate of ``variance``."""
    if variance <= 0.0:
        return 0.0
    t2 = tau * tau
    spread = math.log(1.0 / alpha) + 0.5 * math.log((variance + t2) / variance)
    return math.sqrt(2.0 * variance * (variance + t2) / t2 * spread)


def _null_variance(cand_bad: int, n_cand: int, base_bad: int, n_base: int, margin: float) -> float:
    """Variance of ``candidate rate - baseline rate`` where the candidate's is the baseline's +
    ``margin``.

    Both rates are estimated from the pooled counts under that constraint (a closed-form stand-in
    for the restricted maximum likelihood of Miettinen and Nurminen): the baseline's rate alone
    would be low exactly when the difference looks high, and the test would reject too often.
    """
    base = (cand_bad + base_bad + 0.5 - margin * n_cand) / (n_cand + n_base + 1.0)
    base = min(max(base, 1e-9), 1.0 - 1e-9)
    cand = min(max(base + margin, 1e-9), 1.0 - 1e-9)
    return cand * (1.0 - cand) / n_cand + base * (1.0 - base) / n_base


def _plus_four(cand_bad: int, n_cand: int, base_bad: int, n_base: int) -> tuple[float, float]:
    """Agresti-Caffo's adjusted difference and its variance: one event and one non-event added to
    each side (to the candidate alone against a fixed limit), in the estimate *and* its variance.

    Agresti and Caffo, "Simple and effective confidence intervals for proportions and differences
    of proportions result from adding two successes and two failures", 2000. The added events pull
    a low observed rate up, so a thin candidate with no errors yet is not taken for a perfect one.
    """
    cand = (cand_bad + 1.0) / (n_cand + 2.0)
    diff = cand
    spread = cand * (1.0 - cand) / (n_cand + 2.0)
    if n_base:
        base = (base_bad + 1.0) / (n_base + 2.0)
        diff -= base
        spread += base * (1.0 - base) / (n_base + 2.0)
    return diff, spread


@dataclass(frozen=True)
class Comparison:
    """``candidate rate - reference`` with its harm and non-inferiority verdicts.

    ``reference`` is the baseline's rate (two samples) or a fixed limit (one sample, ``n_base``
    0). ``harm``: the difference is shown above ``harm_margin``; ``non_inferior``: it is shown
    below ``ni_margin``. ``harm_bound`` / ``ni_bound`` are the sides of the confidence sequences
    that decided (lower for harm, upper for non-inferiority).
    """

    difference: float
    reference: float
    harm: bool
    non_inferior: bool
    harm_bound: float
    ni_bound: float
    n_cand: int
    n_base: int


def compare_rates(
    cand_bad: int,
    n_cand: int,
    base_bad: int,
    n_base: int,
    *,
    harm_margin: float,
    ni_margin: float,
    harm_alpha: float,
    ni_alpha: float,
    harm_tau: float,
    limit: float | None = None,
) -> Comparison:
    """Compare the candidate's rate with the baseline's (or, with ``limit``, with that fixed rate).

    With ``limit`` the reference has no sampling noise: the margins are taken from the limit
    (``harm_margin = ni_margin = 0`` is usual: "above the limit" / "shown below it").
    """
    cand = cand_bad / n_cand if n_cand else 0.0
    if limit is None:
        observed = base_bad / n_base if n_base else 0.0
        nb = n_base
    else:
        observed = limit
        nb = 0
    diff = cand - observed
    if n_cand == 0 or (limit is None and n_base == 0):
        return Comparison(diff, observed, False, False, -math.inf, math.inf, n_cand, nb)

    if limit is None:
        harm_variance = _null_variance(cand_bad, n_cand, base_bad, n_base, harm_margin)
    else:
        edge = min(max(limit + harm_margin, 1e-9), 1.0 - 1e-9)
        harm_variance = edge * (1.0 - edge) / n_cand
    lower = diff - radius(harm_variance, harm_alpha, harm_tau)
    adjusted, ni_variance = _plus_four(cand_bad, n_cand, base_bad, nb)
    if limit is not None:
        adjusted -= limit
    upper = adjusted + radius(ni_variance, ni_alpha, max(ni_margin, 1e-3))
    return Comparison(
        diff, observed, lower > harm_margin, upper < ni_margin, lower, upper, n_cand, nb
    )


def samples_needed(
    comparison: Comparison, *, ni_margin: float, ni_alpha: float, cap: int = 10**8
) -> int | None:
    """About how many candidate samples in all would show non-inferiority, if the rates held.

    ``None`` when the observed difference is not below the margin (no amount of the same evidence
    would do). Both sides are scaled in their current proportion; the answer is a forecast for the
    operator ("the traffic it would need"), not part of any test.
    """
    if ni_margin - comparison.difference <= 0 or comparison.n_cand == 0:
        return None
    ratio = comparison.n_base / comparison.n_cand if comparison.n_base else 0.0
    cand = min(max(comparison.reference + comparison.difference, 0.0), 1.0)
    base = min(max(comparison.reference, 0.0), 1.0)
    tau = max(ni_margin, 1e-3)

    def fits(n: int) -> bool:
        # The test's own estimate (Agresti-Caffo, as in compare_rates) on counts at these rates.
        c = (cand * n + 1.0) / (n + 2.0)
        adjusted, v = c, c * (1.0 - c) / (n + 2.0)
        if ratio:
            m = max(1.0, n * ratio)
            b = (base * m + 1.0) / (m + 2.0)
            adjusted, v = adjusted - b, v + b * (1.0 - b) / (m + 2.0)
        else:
            adjusted -= base
        return adjusted + radius(v, ni_alpha, tau) < ni_margin

    low, high = comparison.n_cand, comparison.n_cand
    while not fits(high):
        if high >= cap:
            return None
        low, high = high, min(cap, high * 2)
    while low < high:
        mid = (low + high) // 2
        if fits(mid):
            high = mid
        else:
            low = mid + 1
    return high


@dataclass(frozen=True)
class Moments:
    """A sample's size, mean and (sample) variance: what a comparison of means reads."""

    n: int
    mean: float
    variance: float


@dataclass(frozen=True)
class Shift:
    """``candidate mean - baseline mean`` and whether it is shown above ``harm_margin``.

    ``harm_bound`` is the lower side of the confidence sequence (``-inf`` without samples).
    """

    difference: float
    harm: bool
    harm_bound: float
    n_cand: int
    n_base: int


def compare_means(
    difference: float,
    variance: float,
    n_cand: int,
    n_base: int,
    *,
    harm_margin: float,
    harm_alpha: float,
    harm_tau: float,
) -> Shift:
    """Harm test on a difference of means: is ``difference`` shown above ``harm_margin``?

    ``variance`` is the estimate's plug-in variance (``s_c^2 / n_c + s_b^2 / n_b`` for two plain
    means). The same normal-mixture boundary as :func:`compare_rates`: an *asymptotic* confidence
    sequence (Waudby-Smith, Arbour, Sinha, Kennedy and Ramdas, "Time-uniform central limit theory
    and asymptotic confidence sequences", 2021), valid as the samples grow for any distribution
    with a finite variance, which the caller guarantees by winsorising. One-sided: a candidate
    faster than the baseline only moves the difference away from harm.
    """
    if n_cand < 2 or n_base < 2:
        return Shift(difference, False, -math.inf, n_cand, n_base)
    lower = difference - radius(variance, harm_alpha, harm_tau)
    return Shift(difference, lower > harm_margin, lower, n_cand, n_base)
