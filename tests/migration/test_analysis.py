"""The pure rollout decision, tested with tables of plain values."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import NormalDist

import pytest

from migration.analysis import (
    BackendWindow,
    CheckStatus,
    Decision,
    Policy,
    StepProgress,
    analyse,
    fallback_after_s,
    slow_after_s,
    stuck_after_s,
)
from migration.seams import RateSample
from migration.sketch import LatencySketch

POLICY = Policy()


def lognormal(n: int, p95_s: float, sigma: float = 0.5) -> LatencySketch:
    """``n`` evenly spread quantiles of a lognormal whose 95th percentile is ``p95_s``."""
    z95 = NormalDist().inv_cdf(0.95)
    mu = math.log(p95_s) - sigma * z95
    dist = NormalDist(mu, sigma)
    return LatencySketch.of(math.exp(dist.inv_cdf((i + 0.5) / n)) for i in range(n))


def tail_scaled(n: int, p95_s: float, top: int, factor: float) -> LatencySketch:
    """Like :func:`lognormal`, with only the ``top`` largest values multiplied by ``factor``."""
    values = sorted(v for v, c in lognormal(n, p95_s).buckets() for _ in range(c))
    return LatencySketch.of(values[:-top] + [v * factor for v in values[-top:]])


def window(n: int = 1000, p95_s: float = 0.05, errors: int = 0, **extra: object) -> BackendWindow:
    """A backend window of ``n`` requests."""
    latency = lognormal(n, p95_s) if n else None
    return BackendWindow(n, errors, latency, **extra)  # type: ignore[arg-type]


def progress(**changes: object) -> StepProgress:
    """A step at 10 % that has held long enough, unless told otherwise."""
    values: dict[str, object] = {
        "weight_bps": 1000,
        "held_s": 120.0,
        "requests": 1000,
        "hold_s": 60.0,
        "min_requests": 500,
        "consecutive_failures": 0,
    }
    values.update(changes)
    return StepProgress(**values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Case:
    name: str
    decision: Decision
    failed: tuple[str, ...] = ()
    progress: StepProgress = field(default_factory=progress)
    baseline: BackendWindow = field(default_factory=window)
    candidate: BackendWindow = field(default_factory=window)
    shadow: RateSample = field(default_factory=lambda: RateSample(0, 0))
    streak: int | None = None


def mixed(n: int, fast_p95_s: float, slow_share: float, slow_s: float) -> BackendWindow:
    """Most requests faster than the baseline, a ``slow_share`` of them at ``slow_s``."""
    slow = int(n * slow_share)
    values = [v for v, c in lognormal(n - slow, fast_p95_s).buckets() for _ in range(c)]
    return BackendWindow(n, 0, LatencySketch.of(values + [slow_s] * slow))


CASES = [
    Case("healthy and held: promote", Decision.PROMOTE, streak=0),
    Case(
        "faster median but a slow quarter (p95 x3): soft failure",
        Decision.HOLD,
        failed=("latency_p95",),
        candidate=mixed(1000, 0.02, 0.25, 0.15),
        streak=1,
    ),
    Case("healthy, hold time not met", Decision.HOLD, progress=progress(held_s=30.0)),
    Case("healthy, too few step requests", Decision.HOLD, progress=progress(requests=499)),
    Case(
        "regressed but too few candidate samples: inconclusive",
        Decision.INCONCLUSIVE,
        candidate=window(50, 0.5, errors=5),
    ),
    Case(
        "too few baseline samples below 100 %: inconclusive",
        Decision.INCONCLUSIVE,
        baseline=window(20),
    ),
    Case(
        "at 100 % without baseline traffic: absolute limits only",
        Decision.PROMOTE,
        progress=progress(weight_bps=10_000),
        baseline=window(0),
    ),
    Case(
        "2x p95: first soft failure holds",
        Decision.HOLD,
        ("latency_p95",),
        candidate=window(1000, 0.10),
        streak=1,
    ),
    Case(
        "2x p95: third consecutive soft failure rolls back",
        Decision.ROLLBACK,
        ("latency_p95",),
        progress=progress(consecutive_failures=2),
        candidate=window(1000, 0.10),
        streak=3,
    ),
    Case(
        "p95 +15 % is inside the 20 % tolerance",
        Decision.PROMOTE,
        candidate=window(1000, 0.0575),
    ),
    Case(
        "fast endpoint: +40 % but inside the 5 ms slack",
        Decision.PROMOTE,
        baseline=window(1000, 0.010),
        candidate=window(1000, 0.014),
    ),
    Case(
        "p95 over the limit from a few tail samples is not significant",
        Decision.PROMOTE,
        baseline=window(100, 0.05),
        candidate=BackendWindow(100, 0, tail_scaled(100, 0.05, top=10, factor=1.3)),
    ),
    Case(
        "+5 points of errors: hard limit rolls back at once",
        Decision.ROLLBACK,
        ("error_rate_limit", "error_rate"),
        baseline=window(1000, errors=3),
        candidate=window(1000, errors=53),
        streak=1,
    ),
    Case(
        "error blip on 200 requests is noise",
        Decision.PROMOTE,
        baseline=window(1000, errors=3),
        candidate=window(200, errors=4),
    ),
    Case(
        "errors within the margin pass",
        Decision.PROMOTE,
        baseline=window(1000, errors=3),
        candidate=window(1000, errors=8),
    ),
    Case(
        "error rate above baseline + margin but under the hard limit: soft failure",
        Decision.HOLD,
        ("error_rate",),
        baseline=window(5000, errors=0),
        candidate=window(5000, errors=45),
    ),
    Case(
        "unreachable candidate: hard, even with few window samples",
        Decision.ROLLBACK,
        ("unreachable",),
        candidate=window(30, recent_attempts=20, recent_connect_errors=20),
    ),
    Case(
        "some connect errors are not unreachable",
        Decision.PROMOTE,
        candidate=window(1000, recent_attempts=20, recent_connect_errors=17),
    ),
    Case(
        "p95 crosses the seed's 200 ms limit within tolerance: soft failure",
        Decision.HOLD,
        ("latency_limit",),
        baseline=window(2000, 0.180),
        candidate=window(2000, 0.215),
    ),
    Case(
        "baseline already over 200 ms and candidate no worse: pass",
        Decision.PROMOTE,
        baseline=window(2000, 0.300),
        candidate=window(2000, 0.290),
    ),
    Case(
        "contract violations over the limit",
        Decision.HOLD,
        ("contract_violations",),
        candidate=window(1000, contract=RateSample(200, 10)),
    ),
    Case(
        "shadow mismatch 3 % of 100 is not significant over 1 %",
        Decision.PROMOTE,
        shadow=RateSample(100, 3),
    ),
    Case(
        "shadow mismatch 10 % of 100 fails",
        Decision.HOLD,
        ("shadow_mismatch",),
        shadow=RateSample(100, 10),
    ),
    Case(
        "shadow-only step promotes on clean comparisons",
        Decision.PROMOTE,
        progress=progress(weight_bps=0),
        baseline=window(1000),
        candidate=window(0),
        shadow=RateSample(600, 0),
    ),
    Case(
        "shadow-only step without comparisons is inconclusive",
        Decision.INCONCLUSIVE,
        progress=progress(weight_bps=0),
        candidate=window(0),
        shadow=RateSample(10, 0),
    ),
    Case(
        "inconclusive keeps the failure streak",
        Decision.INCONCLUSIVE,
        progress=progress(consecutive_failures=2),
        candidate=window(10),
        streak=2,
    ),
    Case(
        "a healthy evaluation resets the streak",
        Decision.HOLD,
        progress=progress(consecutive_failures=2, held_s=1.0),
        streak=0,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_analysis_table(case: Case) -> None:
    """Each row: plain numbers in, the expected decision and failing checks out."""
    verdict = analyse(case.progress, case.baseline, case.candidate, case.shadow, POLICY)
    assert verdict.decision is case.decision, verdict.reasons
    assert tuple(c.name for c in verdict.failed) == case.failed
    if case.streak is not None:
        assert verdict.consecutive_failures == case.streak
    assert verdict.reasons


def test_hard_breach_flag_and_numbers() -> None:
    """A hard breach says so and carries the value, threshold and sample count."""
    verdict = analyse(
        progress(),
        window(1000, errors=3),
        window(1000, errors=60),
        RateSample(0, 0),
        POLICY,
    )
    assert verdict.hard_breach
    check = verdict.check("error_rate_limit")
    assert check.status is CheckStatus.FAIL
    assert check.candidate == pytest.approx(0.06)
    assert check.threshold == POLICY.max_error_rate
    assert check.samples == 1000
    assert check.p_value is not None
    assert check.p_value < POLICY.hard_alpha


def test_latency_check_reports_both_backends() -> None:
    """The p95 check carries both p95 values and the computed limit."""
    verdict = analyse(progress(), window(1000, 0.05), window(1000, 0.10), RateSample(0, 0), POLICY)
    check = verdict.check("latency_p95")
    assert check.baseline == pytest.approx(0.05, rel=0.02)
    assert check.candidate == pytest.approx(0.10, rel=0.02)
    assert check.baseline is not None
    assert check.threshold == pytest.approx(check.baseline * 1.2)
    with pytest.raises(KeyError):
        verdict.check("nope")


def test_failure_limit_one_rolls_back_on_first_soft_failure() -> None:
    """failure_limit=1 makes every failure immediate."""
    policy = Policy(failure_limit=1)
    verdict = analyse(progress(), window(), window(1000, 0.10), RateSample(0, 0), policy)
    assert verdict.decision is Decision.ROLLBACK
    assert not verdict.hard_breach


@pytest.mark.parametrize(
    ("changes", "field_name"),
    [
        ({"window_s": 0}, "window_s"),
        ({"alpha": 1.5}, "alpha"),
        ({"failure_limit": 0}, "failure_limit"),
        ({"min_samples": 0}, "min_samples"),
        ({"unreachable_fraction": 0}, "unreachable_fraction"),
        ({"latency_shift_margin": 0}, "latency_shift_margin"),
        ({"latency_shift_winsor": 0.3}, "latency_shift_winsor"),
    ],
)
def test_policy_validation_names_the_field(changes: dict[str, float], field_name: str) -> None:
    """A bad policy value is refused with the field's name."""
    with pytest.raises(ValueError, match=f"policy.{field_name}"):
        Policy(**changes)  # type: ignore[arg-type]


def test_policy_from_mapping() -> None:
    """Config mappings parse numbers and duration strings; bad fields are named."""
    policy = Policy.from_mapping({"window_s": "30s", "p95_slack_s": "10ms", "failure_limit": "2"})
    assert (policy.window_s, policy.p95_slack_s, policy.failure_limit) == (30.0, 0.01, 2)
    with pytest.raises(ValueError, match=r"policy: unknown field\(s\) \['nope'\]"):
        Policy.from_mapping({"nope": 1})
    with pytest.raises(ValueError, match=r"policy\.alpha: expected a number"):
        Policy.from_mapping({"alpha": "lots"})
    with pytest.raises(ValueError, match=r"policy\.min_samples: expected a whole number"):
        Policy.from_mapping({"min_samples": True})
    with pytest.raises(ValueError, match=r"policy\.window_s"):
        Policy.from_mapping({"window_s": "soon"})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"min_samples": 3.7}, r"policy\.min_samples: expected a whole number, got 3\.7"),
        ({"failure_limit": "2.5"}, r"policy\.failure_limit: expected a whole number"),
        ({"alpha": "nan"}, r"policy\.alpha: expected a finite number"),
        ({"max_error_rate": float("inf")}, r"policy\.max_error_rate: expected a finite number"),
        ({"stuck_after_s": "nan"}, r"policy\.stuck_after_s: expected a finite number"),
        ({"window_s": 1e308}, r"policy\.window_s: must be at most 60 s"),
        ({"window_s": "2m"}, r"policy\.window_s: must be at most 60 s"),
        ({"max_p95_s": 7200}, r"policy\.max_p95_s: must be at most 3600 s"),
        ({"alpha": [0.1]}, r"policy\.alpha: expected a number"),
    ],
)
def test_policy_from_mapping_is_strict(data: dict[str, object], message: str) -> None:
    """No silent truncation or coercion: 3.7 is not 3, NaN is no number, durations are bounded."""
    with pytest.raises(ValueError, match=message):
        Policy.from_mapping(data)


def test_policy_from_mapping_takes_environment_strings() -> None:
    """Values from ``CUTOVER_*`` variables arrive as strings: plain numbers still parse."""
    policy = Policy.from_mapping({"min_samples": "30", "alpha": "0.05", "window_s": "4"})
    assert (policy.min_samples, policy.alpha, policy.window_s) == (30, 0.05, 4.0)


# -- issue #12: in-flight evidence, a broken control, the fallback deadline ----------------------


def hung(finished: int = 0, slow: int = 40, stuck: int = 40, oldest: float = 3.0) -> BackendWindow:
    """A candidate whose attempts stopped finishing: ``slow``/``stuck`` of them still in flight."""
    return BackendWindow(
        finished,
        0,
        lognormal(finished, 0.05) if finished else None,
        inflight=slow,
        slow_inflight=slow,
        stuck=stuck,
        oldest_inflight_s=oldest,
    )


FAULT_CASES = [
    Case("hung candidate, nothing finished: stuck rolls back at once", Decision.ROLLBACK,
         ("stuck",), candidate=hung()),
    Case("at 100 % stuck attempts are slow samples only (no baseline to compare)",
         Decision.HOLD, progress=progress(weight_bps=10_000), baseline=BackendWindow(),
         candidate=hung(finished=1000, slow=9, stuck=9)),
    Case("few stuck attempts: not yet a hard failure, but no promotion", Decision.HOLD,
         candidate=hung(finished=1000, slow=3, stuck=3)),
    Case("both backends stuck: a shared cause, no hard failure", Decision.HOLD,
         baseline=BackendWindow(1000, 0, lognormal(1000, 0.05), inflight=9, slow_inflight=9,
                                stuck=9),
         candidate=hung(finished=1000, slow=9, stuck=9)),
    Case("slow in-flight attempts are slow samples: latency soft failure", Decision.HOLD,
         ("latency_p95", "latency_limit"), candidate=hung(finished=200, slow=40, stuck=0)),
    Case("dead baseline: comparison invalid, hold even when held long enough", Decision.HOLD,
         baseline=window(1000, recent_attempts=20, recent_connect_errors=20)),
    Case("baseline failing 30 %: hold, never promote", Decision.HOLD,
         baseline=window(1000, errors=300)),
    Case("baseline degraded: soft failures do not count towards a rollback", Decision.HOLD,
         ("latency_limit",), baseline=window(1000, errors=300), candidate=window(1000, 0.5),
         streak=2, progress=progress(consecutive_failures=2)),
    Case("baseline degraded, the candidate worse still: its hard limit rolls back",
         Decision.ROLLBACK, ("error_rate_limit",), baseline=window(1000, errors=300),
         candidate=window(1000, errors=500)),
    Case("baseline degraded, the candidate no worse: a shared cause, hold", Decision.HOLD,
         baseline=window(1000, errors=300), candidate=window(1000, errors=100)),
    Case("at 100 % the candidate's fallbacks failing alike: a shared cause, no hard breach",
         Decision.PROMOTE, progress=progress(weight_bps=10_000),
         baseline=window(20, errors=8), candidate=window(1000, errors=40)),
    Case("at 100 % the candidate's fallbacks succeeding: its own failure, hard rollback",
         Decision.ROLLBACK, ("error_rate_limit",), progress=progress(weight_bps=10_000),
         baseline=window(40, errors=0), candidate=window(1000, errors=40)),
    Case("at 100 % without fallbacks there is no control: the limit rolls back",
         Decision.ROLLBACK, ("error_rate_limit",), progress=progress(weight_bps=10_000),
         baseline=window(0), candidate=window(1000, errors=40)),
    Case("a burst on both backends alike is not the candidate's: no hard breach",
         Decision.PROMOTE, baseline=window(1000, errors=40), candidate=window(1000, errors=40)),
    Case("baseline at its usual 1 % errors: not degraded", Decision.PROMOTE,
         baseline=window(1000, errors=10)),
    Case("hung baseline, its window still full of old answers: hold, never promote",
         Decision.HOLD, baseline=window(1000, inflight=9, slow_inflight=9, stuck=9)),
    Case("a few baseline attempts past the stuck limit: not degraded", Decision.PROMOTE,
         baseline=window(1000, inflight=4, slow_inflight=4, stuck=4)),
]  # fmt: skip


@pytest.mark.parametrize("case", FAULT_CASES, ids=[c.name for c in FAULT_CASES])
def test_fault_decisions(case: Case) -> None:
    """In-flight attempts and a degraded baseline lead to the tabled decision and failures."""
    verdict = analyse(case.progress, case.baseline, case.candidate, case.shadow, POLICY)
    assert verdict.decision is case.decision, verdict.reasons
    assert tuple(c.name for c in verdict.failed) == case.failed, verdict.reasons
    if case.streak is not None:
        assert verdict.consecutive_failures == case.streak


def test_stuck_attempts_withhold_promotion_with_a_reason() -> None:
    """A healthy, held step with a candidate attempt hanging says so instead of promoting."""
    verdict = analyse(
        progress(), window(), hung(finished=1000, slow=1, stuck=0), RateSample(0, 0), POLICY
    )
    assert verdict.decision is Decision.HOLD
    assert "1 candidate attempts in flight past the latency limit" in verdict.reasons[0]


def test_degraded_baseline_is_flagged_and_skips_the_comparisons() -> None:
    """The verdict flags a broken control; the comparisons are skipped, never failed."""
    verdict = analyse(progress(), window(1000, errors=300), window(), RateSample(0, 0), POLICY)
    assert verdict.baseline_degraded
    assert verdict.reasons[0].startswith("baseline_degraded: baseline error rate 30.00%")
    assert verdict.check("error_rate").status is CheckStatus.SKIPPED
    assert verdict.check("latency_p95").status is CheckStatus.SKIPPED
    control = verdict.check("baseline_health")
    assert control.status is CheckStatus.FAIL
    assert (control.candidate, control.baseline, control.baseline_samples) == (None, 0.3, 1000)
    assert verdict.failed == ()


def test_a_hung_baseline_is_a_degraded_control() -> None:
    """Baseline attempts stuck in flight flag the control as degraded, with their count."""
    baseline = window(1000, inflight=9, slow_inflight=9, stuck=9, oldest_inflight_s=2.5)
    verdict = analyse(progress(), baseline, window(), RateSample(0, 0), POLICY)
    assert verdict.baseline_degraded
    assert verdict.reasons[0].startswith(
        "baseline_degraded: 9 baseline attempts in flight past the stuck limit (oldest 2.5 s)"
    )
    assert verdict.failed == ()


def test_timeouts_count_as_unreachable() -> None:
    """The unreachable check reads "no answer" counts (connect errors and timeouts alike)."""
    verdict = analyse(
        progress(),
        window(),
        window(30, recent_attempts=20, recent_connect_errors=19),
        RateSample(0, 0),
        POLICY,
    )
    assert verdict.decision is Decision.ROLLBACK
    assert "failed to connect or timed out" in verdict.check("unreachable").detail


@pytest.mark.parametrize(
    ("baseline", "slow", "stuck"),
    [
        (BackendWindow(), 0.200, 1.0),  # no baseline: the absolute limit, then the stuck floor
        (window(1000, 0.05), 0.200, 1.0),  # a fast baseline: the absolute limit is the larger
        (window(1000, 0.5), 0.6, 1.0),  # a slow one: its p95 x 1.2
        (window(1000, 1.0), 1.2, 1.2),  # slower still: stuck follows the latency limit
    ],
)
def test_slow_and_stuck_limits(baseline: BackendWindow, slow: float, stuck: float) -> None:
    """In-flight ages count from the larger of the absolute and the relative latency limit."""
    assert slow_after_s(baseline, POLICY) == pytest.approx(slow, rel=0.05)
    assert stuck_after_s(baseline, POLICY) == pytest.approx(stuck, rel=0.05)


def test_fallback_deadline_follows_the_baseline_p99() -> None:
    """The auto deadline is 3 x the baseline p99, unknown below 20 baseline samples."""
    assert fallback_after_s(window(19), POLICY) is None
    assert fallback_after_s(BackendWindow(), POLICY) is None
    base = window(1000, 0.05)
    assert base.latency is not None
    p99 = base.latency.quantile(0.99)
    assert p99 is not None
    assert fallback_after_s(base, POLICY) == pytest.approx(3 * p99)
