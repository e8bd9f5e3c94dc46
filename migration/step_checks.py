"""The sequential checks: the step's whole evidence, judged by always-valid tests.

Five checks over :class:`~migration.verdict.StepWindows` (everything since the step began), built
on :func:`~migration.sequential.compare_rates` and :func:`~migration.sequential.compare_means`:

=================  ==============================================================================
check              meaning
=================  ==============================================================================
seq_error_rate     harm: the candidate's error rate is shown above the baseline's + ``error_margin``
seq_latency        harm: the candidate's share of requests slower than the baseline's step p95 is
                   shown above the baseline's own share (5 %) + ``latency_margin`` (the tail)
seq_latency_shift  harm: the candidate's mean log latency (winsorised; the route's stratified by
                   operation) is shown above the baseline's + ``log(1 + latency_shift_margin)``:
                   slower across the board (:mod:`migration.latency_shift`)
ni_error_rate      non-inferiority: shown below the baseline's + ``error_ni_margin``
ni_latency         non-inferiority: that slow share shown below the baseline's +
                   ``latency_ni_margin``
=================  ==============================================================================

Two latency harm tests because a regression has two shapes. A uniform slowdown (a slower
dependency, every request x1.2) moves the tail share from 5 % to about 10 %, a weak signal in one
bit per request, and the mean of log latency by 0.18, a strong one in every request's time: the
bench caught "p95 + 20 %" within a minute in 20 % of trials with the tail share alone, 98 % with the
shift test. A tail-only regression (faster at the median, a slow path for 5 % of requests) lowers
or barely moves the mean of logs, and the tail share is what sees it.

Operations (the contract's ``operationId``s, or the route's own patterns): each operation with
enough evidence this step gets the two harm tests too, against the same operation on the baseline
(its own p95, its own error rate), so a regression in an operation that carries 5 % of the traffic
is not averaged away by the other 95 %. The verdict names the operation
(``seq_latency[create_task]``).

Restarts: a regression that begins after twenty healthy minutes would be diluted by them in the
step's evidence. :class:`~migration.step_evidence.StepEvidence` also accumulates from a restart
every ``seq_restart_s`` (the newest four are kept); each harm test judges the step's evidence and
each restart's, spending ``restart_weight(k)`` of its alpha on the k-th (these sum to one, so the
test stays within its budget however long the step runs).

A harm failure rolls back at once (the test stays valid however often it is read, so there is no
"three in a row"); promotion on a live step needs both non-inferiority checks to pass, which they
never "fail": until shown they are inconclusive, and the detail says how many candidate samples
would show it at the rates seen so far (the traffic a thin route needs). The false-rollback budget
is split evenly over the harm tests (half to the route's three, half over the operations' three
each when there are operations; at 100 % the shift test has no baseline and the route's other two
share it); each non-inferiority test spends the whole promotion budget (see
:mod:`migration.sequential` for why). There is no non-inferiority test for the shift: promotion
already waits for the tail's, and a third would hold thin routes longer for what the harm test
watches anyway.

Latency is judged as a share above the baseline's p95 over the step, not as a p95 difference: a
share is a binomial count with a variance, a quantile difference is not, and "1 point more of the
candidate's requests are slower than the baseline's p95" is what a user of the tail feels. At 100 %
the baseline gets no traffic: both measures compare with the absolute limits instead
(``max_error_rate``; 5 % of requests above ``max_p95_s``), and an error harm is not the
candidate's when its fallbacks on the baseline (the same requests) fail alike. While the baseline
is degraded nothing is compared (the windowed checks and the hard limits still act).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace

from migration.latency_shift import log_shift, shift_check, strata_of
from migration.policy import Policy
from migration.sequential import Comparison, compare_rates, samples_needed
from migration.stats import two_proportion_greater
from migration.verdict import BackendWindow, CheckResult, CheckStatus, StepWindows

__all__ = ["HARM_TAU", "aa_alarms", "operation_checks", "route_share", "sequential_checks"]

#: The mixing scale of the harm tests: most powerful against differences of a few points.
HARM_TAU = 0.05
#: At 100 % the latency measure is the share above ``max_p95_s``, allowed up to this.
TAIL_SHARE = 0.05
_NAMES = ("seq_error_rate", "seq_latency", "seq_latency_shift", "ni_error_rate", "ni_latency")
#: Harm tests on a live step below 100 % (the budget's divisor); at 100 % the shift test has no
#: baseline to compare with and the other two share it.
HARMS, HARMS_FULL = 3, 2


def _pt(value: float) -> str:
    return f"{value * 100:+.2f} pt"


def _skipped(detail: str) -> tuple[CheckResult, ...]:
    return tuple(CheckResult(name, CheckStatus.SKIPPED, detail=detail) for name in _NAMES)


def _harm(name: str, c: Comparison, margin: float, what: str) -> CheckResult:
    status = CheckStatus.FAIL if c.harm else CheckStatus.PASS
    detail = (
        f"{what} {_pt(c.difference)} (shown above {_pt(c.harm_bound)};"
        f" rolls back past {_pt(margin)})"
    )
    return CheckResult(
        name, status, c.difference, c.reference, margin, c.n_cand, c.n_base, detail=detail
    )


def _ni(name: str, c: Comparison, margin: float, what: str, alpha: float) -> CheckResult:
    if c.non_inferior:
        detail = f"{what} {_pt(c.difference)}, shown below {_pt(c.ni_bound)} < {_pt(margin)}"
        status = CheckStatus.PASS
    else:
        need = samples_needed(c, ni_margin=margin, ni_alpha=alpha)
        more = (
            f"about {max(0, need - c.n_cand):,} more candidate samples at these rates"
            if need is not None
            else "not at these rates"
        )
        detail = (
            f"{what} {_pt(c.difference)}, below {_pt(c.ni_bound)} so far,"
            f" needs < {_pt(margin)}: {more}"
        )
        status = CheckStatus.INCONCLUSIVE
    return CheckResult(
        name, status, c.difference, c.reference, margin, c.n_cand, c.n_base, detail=detail
    )


def _few(got_cand: int, got_base: int, need: int, full: bool) -> tuple[CheckResult, ...] | None:
    if got_cand >= need and (full or got_base >= need):
        return None
    who = f"{got_cand}/{need} candidate" + ("" if full else f", {got_base}/{need} baseline")
    detail = f"{who} samples this step"
    if got_cand < need:
        detail += f": about {need - got_cand:,} more candidate samples before any test decides"
    return tuple(
        CheckResult(
            name,
            CheckStatus.INCONCLUSIVE,
            samples=got_cand,
            baseline_samples=got_base,
            detail=detail,
        )
        for name in _NAMES
    )


def route_share(operations: int) -> float:
    """The route's share of the false-rollback budget: all of it, or half when operations share."""
    return 1.0 if operations == 0 else 0.5


def sequential_checks(
    step: StepWindows | None,
    policy: Policy,
    full: bool,
    degraded: bool,
    why_off: str,
    operations: int = 0,
    strata: Mapping[str, StepWindows] | None = None,
) -> tuple[CheckResult, ...]:
    """The five sequential checks of a step (skipped without evidence, saying ``why_off``).

    ``operations``: how many operations are judged beside the route; they get half the
    false-rollback budget (:func:`operation_checks`), the route's three harm tests the other
    half. ``strata``: the operations' evidence, which the route's shift test is stratified by.
    """
    if step is None:
        return _skipped(f"not run ({why_off})")
    if degraded:
        return _skipped("comparison invalid: baseline degraded")
    cand, base = step.candidate, step.baseline
    few = _few(cand.requests, base.requests, policy.seq_min_samples, full)
    if few is not None:
        return few
    harm_alpha = policy.false_rollback_budget * route_share(operations) / _harm_count(full)
    errors, latency, lat_what, errors_what, margins = _compare(step, policy, full, harm_alpha)
    _, err_ni, _, lat_ni = margins
    ni_alpha = policy.false_promotion_budget
    return (
        *_harms(step, policy, full, harm_alpha, strata),
        _ni("ni_error_rate", errors, err_ni, errors_what, ni_alpha),
        _ni("ni_latency", latency, lat_ni, lat_what, ni_alpha),
    )


def aa_alarms(step: StepWindows | None, policy: Policy, operations: int = 0) -> tuple[str, ...]:
    """The route's harm checks that fire on the baseline against itself (live A/A calibration).

    The same tests at the same alpha, on the baseline's step evidence dealt into two interleaved
    halves (:meth:`~migration.step_evidence.StepEvidence.halves`): nothing differs between them
    but chance, so a firing is a false alarm, counted by the controller once per step and check.
    Over many steps the share that fired is each check's observed false-alarm rate on this
    route's real traffic (its bursts, tails and rate swings), beside the budget it was given.
    The halves have no operations, so the shift test there is the route's unstratified one.
    """
    if step is None or step.halves is None:
        return ()
    first, second = step.halves
    if _few(first.requests, second.requests, policy.seq_min_samples, False):
        return ()
    alpha = policy.false_rollback_budget * route_share(operations) / HARMS
    harms = _harms(StepWindows(second, first), policy, False, alpha)
    return tuple(c.name for c in harms if c.status is CheckStatus.FAIL)


def restart_weight(k: int) -> float:
    """Share of a harm test's alpha spent on the step's evidence (k = 0) or its k-th restart.

    ``6 / (pi^2 (k + 1)^2)`` sums to 1 over every k, so however long the step runs and however
    many restarts are judged, the test's false-rollback chance stays within its alpha.
    """
    return 6.0 / (math.pi**2 * (k + 1) ** 2)


def _harm_count(full: bool) -> int:
    return HARMS_FULL if full else HARMS


def _harms(
    step: StepWindows,
    policy: Policy,
    full: bool,
    alpha: float,
    strata: Mapping[str, StepWindows] | None = None,
) -> tuple[CheckResult, ...]:
    """The harm checks (errors, tail share, shift): on the whole step's evidence, or the first
    restart that shows harm. At 100 % the shift test is skipped (no baseline traffic); the
    route's is stratified by ``strata`` (its operations) when they partition its evidence."""
    found: list[CheckResult] = []
    for k, base, cand in ((0, step.baseline, step.candidate), *step.restarts):
        if k and _few(cand.requests, base.requests, policy.seq_min_samples, full):
            continue
        pair = StepWindows(base, cand)
        budget = alpha * restart_weight(k)
        errors, latency, lat_what, errors_what, margins = _compare(pair, policy, full, budget)
        since = f" since restart {k} ({cand.requests} candidate samples)" if k else ""
        if full:
            shift = CheckResult(
                "seq_latency_shift",
                CheckStatus.SKIPPED,
                detail="no baseline traffic at 100 %: the tail share against the limit applies",
            )
        else:
            shift = shift_check(
                log_shift(strata_of(k, base, cand, strata), policy, budget, policy.seq_min_samples),
                policy,
                since,
            )
        results = (
            _harm("seq_error_rate", errors, margins[0], errors_what + since),
            _harm("seq_latency", latency, margins[2], lat_what + since),
            shift,
        )
        if not found:
            found = list(results)
        for i, result in enumerate(results):
            if result.status is CheckStatus.FAIL and found[i].status is not CheckStatus.FAIL:
                found[i] = result
    return tuple(found)


def operation_checks(
    steps: Mapping[str, StepWindows], policy: Policy, full: bool, degraded: bool
) -> tuple[CheckResult, ...]:
    """The two harm tests of every operation with enough evidence this step.

    Half the false-rollback budget, split evenly over the operations and their two tests. No
    non-inferiority per operation: a rare operation would hold the route for hours, and the route's
    own non-inferiority covers its traffic. An operation with too few samples is left out, and so
    is every one at 100 %: without baseline traffic an operation has nothing to be compared with,
    and the absolute limits are the route's (an operation slow by nature is not a regression).
    """
    if degraded or full or not steps:
        return ()
    harm_alpha = policy.false_rollback_budget * (1 - route_share(len(steps))) / len(steps) / HARMS
    out: list[CheckResult] = []
    for operation, step in sorted(steps.items()):
        if _few(step.candidate.requests, step.baseline.requests, policy.seq_min_samples, full):
            continue
        out.extend(replace(c, operation=operation) for c in _harms(step, policy, full, harm_alpha))
    return tuple(out)


def _fails_alike(cand: BackendWindow, base: BackendWindow, policy: Policy, alpha: float) -> bool:
    """At 100 %: the baseline's attempts (the fallbacks of failed candidate requests, the same
    requests) fail about as often as the candidate's: a shared cause, not the candidate's harm —
    the same control as the windowed hard error limit's (:mod:`migration.analysis`)."""
    if base.requests < policy.unreachable_min_attempts:
        return False  # no control: the limit stands
    _, p_worse = two_proportion_greater(cand.errors, cand.requests, base.errors, base.requests)
    return p_worse >= alpha


def _compare(
    step: StepWindows, policy: Policy, full: bool, harm_alpha: float
) -> tuple[Comparison, Comparison, str, str, tuple[float, float, float, float]]:
    """Errors and latency of one step compared, their descriptions, and the margins used."""
    cand, base = step.candidate, step.baseline
    ni_alpha = policy.false_promotion_budget
    common = {"harm_alpha": harm_alpha, "ni_alpha": ni_alpha, "harm_tau": HARM_TAU}
    if full:
        errors = compare_rates(
            cand.errors,
            cand.requests,
            0,
            0,
            harm_margin=0.0,
            ni_margin=0.0,
            limit=policy.max_error_rate,
            **common,
        )
        errors_what = f"error rate vs the {policy.max_error_rate:.1%} limit:"
        if errors.harm and _fails_alike(cand, base, policy, harm_alpha):
            errors = replace(errors, harm=False)
            errors_what += (
                f" (its fallbacks on the baseline fail alike, {base.errors}/{base.requests})"
            )
        err_margin = err_ni = 0.0
        threshold = policy.max_p95_s
        lat_limit: float | None = TAIL_SHARE
        lat_margin = lat_ni = 0.0
    else:
        errors = compare_rates(
            cand.errors,
            cand.requests,
            base.errors,
            base.requests,
            harm_margin=policy.error_margin,
            ni_margin=policy.error_ni_margin,
            **common,
        )
        errors_what = "error rate vs baseline"
        err_margin, err_ni = policy.error_margin, policy.error_ni_margin
        threshold = base.p95() or 0.0
        lat_limit = None
        lat_margin, lat_ni = policy.latency_margin, policy.latency_ni_margin
    cand_slow = 0 if cand.latency is None else cand.latency.count_above(threshold)
    base_slow = 0 if base.latency is None else base.latency.count_above(threshold)
    n_lat = cand.latency_count
    n_base_lat = 0 if full else base.latency_count
    latency = compare_rates(
        cand_slow,
        n_lat,
        base_slow,
        n_base_lat,
        harm_margin=lat_margin,
        ni_margin=lat_ni,
        limit=lat_limit,
        **common,
    )
    lat_what = f"share slower than {threshold * 1000:.1f} ms vs " + (
        f"{TAIL_SHARE:.0%}" if full else "baseline"
    )
    return errors, latency, lat_what, errors_what, (err_margin, err_ni, lat_margin, lat_ni)
