"""The rollout decision, as a pure function: step state + both backends' windows + policy → verdict.

:func:`analyse` does no I/O and reads no clock; the controller gathers the numbers and acts on the
:class:`Verdict`. Every check reports its value, threshold, sample count and p-value, which the
controller records with the event and exports as ``cutover_analysis_*`` gauges, so an operator can
see *why* a step was held or rolled back.

Checks (``hard`` ones roll back at the first failing evaluation, the others after
``Policy.failure_limit`` consecutive failing evaluations):

=====================  =====  ===========================================================
check                  kind   fails when
=====================  =====  ===========================================================
unreachable            hard   most of the candidate's last attempts failed to connect or timed out
stuck                  hard   ``stuck_min`` or more candidate attempts in flight longer than
                              :func:`stuck_after_s` while the baseline has none (not at
                              100 %, where the baseline serves nothing to compare with)
error_rate_limit       hard   candidate error rate significantly above ``max_error_rate``
                              and significantly above the baseline's (at 100 %: its
                              fallback attempts', when there are at least 10)
error_rate             soft   candidate error rate significantly above baseline + margin
latency_p95            soft   candidate p95 > L = max(baseline p95 x (1 + tol), baseline + slack)
                              and a tail test says so: significantly more than 5 % of the
                              candidate's requests exceed L, and significantly more than
                              the baseline's share above L (both p < alpha)
latency_limit          soft   significantly more than 5 % of candidate requests exceed
                              ``max_p95_s`` and the candidate p95 is above the baseline's
contract_violations    soft   candidate violation rate significantly above its limit
shadow_mismatch        soft   mismatch rate significantly above its limit
seq_error_rate,        seq.   the step's evidence shows the candidate worse by more than the
seq_latency,                  margin (always-valid tests, :mod:`migration.step_checks`): errors,
seq_latency_shift             the tail share, the mean of log latency; per operation too. One
                              failure rolls back.
ni_error_rate,         seq.   promotion on a live step needs these shown (non-inferiority);
ni_latency                    they never fail, they wait
=====================  =====  ===========================================================

With ``Policy.analysis == "sequential"`` (the default, issue #14) the windowed soft checks run at
``window_alpha`` (0.001): re-tested every second over overlapping windows they watch for large,
recent regressions, and the sequential tests over the step's whole evidence catch the moderate ones
and decide promotion, so a window with too few samples no longer holds a thin route forever.

In-flight evidence (issue #12, item 1): a hung candidate finishes nothing, so the finished attempts
alone say "too few samples" for as long as it hangs. An attempt still in flight after the latency
limit (:func:`slow_after_s`) is slow by definition, whatever it ends as: it counts as a slow sample
in both latency checks, it withholds promotion, and many of them with none on the baseline are the
hard ``stuck`` failure (a whole backend hanging is an outage, not a regression to confirm three
times).

A broken control (item 3): while the baseline itself fails (``baseline_health``: most of its recent
attempts unreachable, ``stuck_min`` of them in flight past the stuck limit, or its error rate
significantly above ``baseline_max_error_rate``), comparing against it means nothing. The
comparisons are skipped, soft failures do not count towards a rollback, and the verdict is HOLD
(``Verdict.baseline_degraded``), never PROMOTE; the candidate's hard limits still apply.
``baseline_health`` is about the control, so it never appears in ``Verdict.failed``.

Too few samples makes a check *inconclusive*: an inconclusive required check holds the step, never
promotes it, never counts as a failure. At 100 % the baseline gets no traffic, so the checks that
compare against it are *skipped* there and only the absolute limits apply.

The hard error-rate limit is absolute, except that an error burst the baseline shares (a shared
database, say) is not the candidate's: rolling back would not help, the baseline's health check
holds the step instead (the whole-rollout simulation lost one healthy rollout in ten to such bursts
when this limit was absolute). At 100 % the baseline's only attempts are the fallbacks of failed
candidate requests — the same requests, a paired control: when they fail alike the cause is shared;
without fallbacks (a route with ``fallback: off``, non-idempotent methods) there is no control and
the limit rolls back. Contract and shadow checks are not required for promotion on live steps
(shadowing and contract checks may be off for a route); on a shadow-only step the shadow comparison
is what is judged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from migration.policy import Policy
from migration.seams import RateSample
from migration.stats import proportion_greater, two_proportion_greater
from migration.step_checks import aa_alarms, operation_checks, sequential_checks
from migration.verdict import (
    CHECKS,
    CONTROL_CHECK,
    NON_INFERIORITY,
    BackendWindow,
    CheckResult,
    CheckStatus,
    Decision,
    StepProgress,
    StepWindows,
    Verdict,
)

__all__ = [
    "CHECKS",
    "CONTROL_CHECK",
    "BackendWindow",
    "CheckResult",
    "CheckStatus",
    "Decision",
    "Policy",
    "StepProgress",
    "StepWindows",
    "Verdict",
    "analyse",
    "fallback_after_s",
    "slow_after_s",
    "stuck_after_s",
]


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 1000:.1f} ms"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.2f}%"


def _few(name: str, got: int, need: int, who: str = "candidate") -> CheckResult:
    return CheckResult(
        name, CheckStatus.INCONCLUSIVE, samples=got, detail=f"{got}/{need} {who} samples"
    )


def slow_after_s(baseline: BackendWindow, policy: Policy) -> float:
    """Age past which an in-flight candidate attempt is slow for *both* latency checks.

    The larger of the absolute limit and the relative one (baseline p95 x (1 + tolerance), or
    + slack) when the baseline has enough samples: such an attempt lies above either threshold.
    """
    bp95 = baseline.p95()
    if baseline.latency is None or baseline.latency.count < policy.min_samples or bp95 is None:
        return policy.max_p95_s
    relative = max(bp95 * (1 + policy.p95_tolerance), bp95 + policy.p95_slack_s)
    return max(policy.max_p95_s, relative)


def stuck_after_s(baseline: BackendWindow, policy: Policy) -> float:
    """Age past which an in-flight attempt counts as stuck (the hard ``stuck`` check)."""
    return max(slow_after_s(baseline, policy), policy.stuck_after_s)


def fallback_after_s(baseline: BackendWindow, policy: Policy) -> float | None:
    """The ``auto`` candidate fallback deadline: ``fallback_p99_factor`` x the baseline's p99.

    ``None`` (unknown: the gateway keeps its default) with fewer than ``fallback_min_samples``
    baseline samples; the gateway clamps the value to the route's floor and its read timeout.
    """
    if baseline.latency is None or baseline.latency.count < policy.fallback_min_samples:
        return None
    p99 = baseline.latency.quantile(0.99)
    return None if p99 is None or p99 <= 0 else policy.fallback_p99_factor * p99


def _stuck(cand: BackendWindow, base: BackendWindow, policy: Policy, full: bool) -> CheckResult:
    if full:  # "none on the baseline" means nothing when the baseline serves nothing
        return CheckResult(
            "stuck",
            CheckStatus.SKIPPED,
            candidate=float(cand.stuck),
            samples=cand.inflight,
            detail="no baseline traffic at 100 %: stuck attempts count as slow samples only",
        )
    failed = cand.stuck >= policy.stuck_min and base.stuck == 0
    if cand.stuck and base.stuck:
        detail = f"{cand.stuck} candidate and {base.stuck} baseline attempts stuck: a shared cause"
    else:
        detail = (
            f"{cand.stuck} candidate attempts in flight past the stuck limit (oldest "
            f"{cand.oldest_inflight_s:.1f} s), {base.stuck} on the baseline"
        )
    return CheckResult(
        "stuck",
        CheckStatus.FAIL if failed else CheckStatus.PASS,
        candidate=float(cand.stuck),
        baseline=float(base.stuck),
        threshold=float(policy.stuck_min),
        samples=cand.inflight,
        baseline_samples=base.inflight,
        detail=detail,
    )


def _baseline_health(base: BackendWindow, policy: Policy) -> CheckResult:
    n, failed = base.recent_attempts, base.recent_connect_errors
    # The numbers are the baseline's: ``baseline`` and ``baseline_samples``, never the candidate's.
    if n >= policy.unreachable_min_attempts and failed >= policy.unreachable_fraction * n:
        return CheckResult(
            CONTROL_CHECK,
            CheckStatus.FAIL,
            candidate=None,
            baseline=failed / n,
            threshold=policy.unreachable_fraction,
            baseline_samples=n,
            detail=f"{failed} of the baseline's last {n} attempts failed to connect or timed out",
        )
    if base.stuck >= policy.stuck_min:
        # A hung baseline finishes nothing: until its read timeouts fire (30 s by default) its
        # window still holds the answers from before the hang and reads as healthy.
        return CheckResult(
            CONTROL_CHECK,
            CheckStatus.FAIL,
            candidate=None,
            baseline=float(base.stuck),
            threshold=float(policy.stuck_min),
            baseline_samples=base.inflight,
            detail=f"{base.stuck} baseline attempts in flight past the stuck limit (oldest "
            f"{base.oldest_inflight_s:.1f} s)",
        )
    if base.requests < policy.min_samples:
        return CheckResult(
            CONTROL_CHECK,
            CheckStatus.INCONCLUSIVE,
            baseline_samples=base.requests,
            detail=f"{base.requests}/{policy.min_samples} baseline samples",
        )
    rate = base.errors / base.requests
    _, p = proportion_greater(base.errors, base.requests, policy.baseline_max_error_rate)
    degraded = rate > policy.baseline_max_error_rate and p < policy.alpha
    return CheckResult(
        CONTROL_CHECK,
        CheckStatus.FAIL if degraded else CheckStatus.PASS,
        candidate=None,
        baseline=rate,
        threshold=policy.baseline_max_error_rate,
        baseline_samples=base.requests,
        p_value=p,
        detail=f"baseline error rate {_pct(rate)} vs {_pct(policy.baseline_max_error_rate)}",
    )


def _invalid(name: str, cand: BackendWindow, control: CheckResult) -> CheckResult:
    return CheckResult(
        name,
        CheckStatus.SKIPPED,
        samples=cand.requests,
        detail=f"comparison invalid: baseline degraded ({control.detail})",
    )


def _unreachable(cand: BackendWindow, policy: Policy) -> CheckResult:
    n, failed = cand.recent_attempts, cand.recent_connect_errors
    share = failed / n if n else None
    if n < policy.unreachable_min_attempts:
        return CheckResult(
            "unreachable",
            CheckStatus.INCONCLUSIVE,
            candidate=share,
            baseline=None,
            threshold=policy.unreachable_fraction,
            samples=n,
            detail=f"{n}/{policy.unreachable_min_attempts} recent attempts",
        )
    status = CheckStatus.FAIL if failed >= policy.unreachable_fraction * n else CheckStatus.PASS
    return CheckResult(
        "unreachable",
        status,
        candidate=share,
        baseline=None,
        threshold=policy.unreachable_fraction,
        samples=n,
        detail=f"{failed} of the candidate's last {n} attempts failed to connect or timed out",
    )


def _error_rate_limit(
    cand: BackendWindow, base: BackendWindow, policy: Policy, full: bool
) -> CheckResult:
    if cand.requests < policy.min_samples:
        return _few("error_rate_limit", cand.requests, policy.min_samples)
    rate = cand.errors / cand.requests
    _, p = proportion_greater(cand.errors, cand.requests, policy.max_error_rate)
    failed = rate > policy.max_error_rate and p < policy.hard_alpha
    detail = f"candidate error rate {_pct(rate)} vs hard limit {_pct(policy.max_error_rate)}"
    # At 100 % the baseline's attempts are the fallbacks of failed candidate requests: the same
    # requests, so a fair control when there are a few of them.
    control = policy.unreachable_min_attempts if full else policy.min_samples
    if failed and base.requests >= control:
        # A burst that fails both backends alike (a shared database, say) is not the candidate's:
        # rolling it back would not help (issue #14: one in ten healthy rollouts was lost to
        # such bursts). The baseline's own health check holds the step meanwhile.
        _, p_worse = two_proportion_greater(cand.errors, cand.requests, base.errors, base.requests)
        if p_worse >= policy.hard_alpha:
            failed = False
            which = "its fallbacks fail" if full else "the baseline fails"
            detail += f", but {which} alike ({_pct(base.errors / base.requests)})"
    return CheckResult(
        "error_rate_limit",
        CheckStatus.FAIL if failed else CheckStatus.PASS,
        candidate=rate,
        baseline=None,
        threshold=policy.max_error_rate,
        samples=cand.requests,
        p_value=p,
        detail=detail,
    )


def _error_rate(
    cand: BackendWindow, base: BackendWindow, policy: Policy, full: bool, alpha: float
) -> CheckResult:
    if cand.requests < policy.min_samples:
        return _few("error_rate", cand.requests, policy.min_samples)
    rate = cand.errors / cand.requests
    if full:  # what the baseline still has at 100 % is stale, or a few fallbacks
        return CheckResult(
            "error_rate",
            CheckStatus.SKIPPED,
            candidate=rate,
            samples=cand.requests,
            detail="no baseline traffic at 100 %: only the hard limit applies",
        )
    if base.requests < policy.min_samples:
        return _few("error_rate", base.requests, policy.min_samples, "baseline")
    base_rate = base.errors / base.requests
    threshold = base_rate + policy.error_margin
    _, p = two_proportion_greater(
        cand.errors, cand.requests, base.errors, base.requests, policy.error_margin
    )
    failed = rate > threshold and p < alpha
    return CheckResult(
        "error_rate",
        CheckStatus.FAIL if failed else CheckStatus.PASS,
        candidate=rate,
        baseline=base_rate,
        threshold=threshold,
        samples=cand.requests,
        baseline_samples=base.requests,
        p_value=p,
        detail=f"candidate {_pct(rate)} vs baseline {_pct(base_rate)}"
        f" + margin {_pct(policy.error_margin)}",
    )


def _latency_p95(
    cand: BackendWindow, base: BackendWindow, policy: Policy, full: bool, alpha: float
) -> CheckResult:
    n, nb = cand.latency_count, base.latency_count
    cp95, bp95 = cand.p95() or 0.0, base.p95()
    if n < policy.min_samples:
        return _few("latency_p95", n, policy.min_samples)
    if full:  # what the baseline still has at 100 % is stale, or a few fallbacks
        return CheckResult(
            "latency_p95",
            CheckStatus.SKIPPED,
            candidate=cp95,
            samples=n,
            detail="no baseline traffic at 100 %: only the absolute limit applies",
        )
    if nb < policy.min_samples or bp95 is None or base.latency is None:
        return _few("latency_p95", nb, policy.min_samples, "baseline")
    limit = max(bp95 * (1 + policy.p95_tolerance), bp95 + policy.p95_slack_s)
    # A test of the tail, not of the whole distribution: a candidate that is faster for most
    # requests but slow for a quarter of them has a far worse p95, yet a rank test such as
    # Mann-Whitney calls it "not slower" (seen in the demo with a latency fault at the 50 % step).
    cand_above, base_above = cand.count_above(limit), base.latency.count_above(limit)
    _, p_quantile = proportion_greater(cand_above, n, 0.05)
    _, p_baseline = two_proportion_greater(cand_above, n, base_above, nb)
    p = max(p_quantile, p_baseline)
    failed = (cp95 > limit or cand.p95_at_least(limit)) and p < alpha
    return CheckResult(
        "latency_p95",
        CheckStatus.FAIL if failed else CheckStatus.PASS,
        candidate=cp95,
        baseline=bp95,
        threshold=limit,
        samples=n,
        baseline_samples=nb,
        p_value=p,
        detail=f"candidate p95 {_ms(cp95)} vs limit {_ms(limit)} (baseline {_ms(bp95)})",
    )


def _latency_limit(
    cand: BackendWindow, base: BackendWindow, policy: Policy, alpha: float
) -> CheckResult:
    n = cand.latency_count
    if n < policy.min_samples:
        return _few("latency_limit", n, policy.min_samples)
    cp95, bp95 = cand.p95(), base.p95() if base.latency_count >= policy.min_samples else None
    slow = cand.count_above(policy.max_p95_s)
    _, p = proportion_greater(slow, n, 0.05)
    over = (cp95 is not None and cp95 > policy.max_p95_s) or cand.p95_at_least(policy.max_p95_s)
    # Stuck attempts make the candidate worse than any baseline that finishes its requests.
    worse = bp95 is None or cand.slow_inflight > base.slow_inflight or (cp95 or 0.0) > bp95
    failed = over and p < alpha and worse
    return CheckResult(
        "latency_limit",
        CheckStatus.FAIL if failed else CheckStatus.PASS,
        candidate=cp95,
        baseline=bp95,
        threshold=policy.max_p95_s,
        samples=n,
        baseline_samples=base.latency_count,
        p_value=p,
        detail=f"candidate p95 {_ms(cp95)} vs absolute limit {_ms(policy.max_p95_s)}",
    )


def _rate_limit(name: str, sample: RateSample, limit: float, policy: Policy) -> CheckResult:
    if sample.events < policy.min_rate_samples:
        return _few(name, sample.events, policy.min_rate_samples, "checked")
    rate = sample.bad / sample.events
    _, p = proportion_greater(sample.bad, sample.events, limit)
    failed = rate > limit and p < policy.alpha
    return CheckResult(
        name,
        CheckStatus.FAIL if failed else CheckStatus.PASS,
        candidate=rate,
        baseline=None,
        threshold=limit,
        samples=sample.events,
        p_value=p,
        detail=f"{sample.bad} of {sample.events} ({_pct(rate)}) vs limit {_pct(limit)}",
    )


def analyse(
    progress: StepProgress,
    baseline: BackendWindow,
    candidate: BackendWindow,
    shadow: RateSample,
    policy: Policy,
    step: StepWindows | None = None,
    operations: Mapping[str, StepWindows] | None = None,
) -> Verdict:
    """Judge the current step. Pure: same numbers in, same verdict out.

    ``step`` is both backends' evidence since the step began (the sequential tests'); without it
    (or with ``policy.analysis == "windowed"``) the sequential checks are skipped and promotion
    needs the windowed checks, as before issue #14. ``operations``: the same per operation of the
    route, judged by the harm tests of :func:`~migration.step_checks.operation_checks`. The
    verdict's ``aa_alarms`` are the route's harm checks firing on the baseline against itself
    (:func:`~migration.step_checks.aa_alarms`), the live calibration.
    """
    verdict = _judge(progress, baseline, candidate, shadow, policy, step, operations)
    sequential = policy.analysis == "sequential" and not progress.shadow_only
    full = progress.weight_bps >= 10_000
    if not sequential or full or verdict.baseline_degraded:
        return verdict
    alarms = aa_alarms(step, policy, len(operations or {}))
    return replace(verdict, aa_alarms=alarms) if alarms else verdict


def _judge(
    progress: StepProgress,
    baseline: BackendWindow,
    candidate: BackendWindow,
    shadow: RateSample,
    policy: Policy,
    step: StepWindows | None,
    operations: Mapping[str, StepWindows] | None,
) -> Verdict:
    full = progress.weight_bps >= 10_000
    sequential = policy.analysis == "sequential" and not progress.shadow_only and step is not None
    ops = (operations or {}) if sequential else {}
    # Re-tested every second over overlapping windows, the windowed soft checks watch for large,
    # recent regressions when the sequential tests judge the step's whole evidence beside them.
    soft_alpha = policy.window_alpha if sequential else policy.alpha
    control = _baseline_health(baseline, policy)
    degraded = control.status is CheckStatus.FAIL and not full
    checks = (
        _unreachable(candidate, policy),
        _stuck(candidate, baseline, policy, full),
        _error_rate_limit(candidate, baseline, policy, full),
        _invalid("error_rate", candidate, control) if degraded
        else _error_rate(candidate, baseline, policy, full, soft_alpha),
        _invalid("latency_p95", candidate, control) if degraded
        else _latency_p95(candidate, baseline, policy, full, soft_alpha),
        _latency_limit(candidate, baseline, policy, soft_alpha),
        _rate_limit("contract_violations", candidate.contract,
                    policy.max_contract_violation_rate, policy),
        _rate_limit("shadow_mismatch", shadow, policy.max_shadow_mismatch_rate, policy),
        control,
        *sequential_checks(step if sequential else None, policy, full, degraded,
                           "shadow-only step" if progress.shadow_only
                           else "no step evidence" if step is None else policy.analysis,
                           0 if full else len(ops), ops),
        *operation_checks(ops, policy, full, degraded),
    )  # fmt: skip
    if progress.shadow_only:
        required = {"shadow_mismatch"}
    elif sequential:
        required = set(NON_INFERIORITY)
    else:
        required = {"error_rate_limit", "error_rate", "latency_p95", "latency_limit"}
    failed = [c for c in checks if c.status is CheckStatus.FAIL and c.name != CONTROL_CHECK]
    immediate = [c for c in failed if c.immediate]
    reasons = tuple(f"{c.label}: {c.detail}" for c in failed)
    if immediate:
        hard = any(c.hard for c in immediate)
        return Verdict(
            Decision.ROLLBACK, reasons, checks, progress.consecutive_failures + 1, hard, degraded
        )
    if degraded:
        why = (f"baseline_degraded: {control.detail}; comparison invalid, holding", *reasons)
        return Verdict(Decision.HOLD, why, checks, progress.consecutive_failures, False, True)
    if failed:
        streak = progress.consecutive_failures + 1
        if streak >= policy.failure_limit:
            return Verdict(Decision.ROLLBACK, reasons, checks, streak)
        note = f"soft failure {streak}/{policy.failure_limit}"
        return Verdict(Decision.HOLD, (note, *reasons), checks, streak)
    waiting = [c for c in checks if c.name in required and c.status is CheckStatus.INCONCLUSIVE]
    if waiting:
        why = tuple(
            f"{c.name}: not shown yet ({c.detail})"
            if c.name in NON_INFERIORITY
            else f"{c.name}: too few samples ({c.detail})"
            for c in waiting
        )
        return Verdict(Decision.INCONCLUSIVE, why, checks, progress.consecutive_failures)
    pending = []
    if candidate.slow_inflight and not progress.shadow_only:
        pending.append(
            f"{candidate.slow_inflight} candidate attempts in flight past the latency limit "
            f"(oldest {candidate.oldest_inflight_s:.1f} s)"
        )
    if progress.held_s < progress.hold_s:
        pending.append(f"held {progress.held_s:.0f}/{progress.hold_s:.0f} s")
    if progress.requests < progress.min_requests:
        unit = "shadow comparisons" if progress.shadow_only else "candidate requests"
        pending.append(f"{progress.requests}/{progress.min_requests} {unit}")
    if pending:
        return Verdict(Decision.HOLD, ("healthy; " + ", ".join(pending),), checks, 0)
    met = "non-inferiority shown, " if sequential else ""
    return Verdict(
        Decision.PROMOTE, (f"healthy; {met}hold time and request minimum met",), checks, 0
    )
