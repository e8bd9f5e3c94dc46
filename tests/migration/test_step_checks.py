"""The sequential checks and the sequential analysis, with tables of plain step evidence."""

from __future__ import annotations

import pytest

from migration.analysis import BackendWindow, CheckStatus, Decision, Policy, StepWindows, analyse
from migration.seams import RateSample
from migration.sketch import LatencySketch
from migration.step_checks import operation_checks, route_share, sequential_checks
from tests.migration.test_analysis import progress, window

POLICY = Policy()


def step(
    cand: int = 3000,
    base: int = 27000,
    cand_errors: int = 9,
    base_errors: int = 81,
    cand_p95: float = 0.05,
) -> StepWindows:
    """A step's evidence: both backends at 0.3 % errors and the same latencies by default."""
    return StepWindows(window(base, 0.05, base_errors), window(cand, cand_p95, cand_errors))


def window_of(*parts: BackendWindow) -> BackendWindow:
    """One backend window holding the requests of ``parts``."""
    latency = LatencySketch.merged(p.latency for p in parts if p.latency is not None)
    return BackendWindow(sum(p.requests for p in parts), sum(p.errors for p in parts), latency)


def statuses(evidence: StepWindows | None, **kw: object) -> dict[str, CheckStatus]:
    """Each sequential check's status."""
    options = {"policy": POLICY, "full": False, "degraded": False, "why_off": "test"} | kw
    return {c.name: c.status for c in sequential_checks(evidence, **options)}  # type: ignore[arg-type]


def test_a_healthy_step_with_enough_evidence_shows_non_inferiority() -> None:
    """3,000 candidate requests like the baseline's: both non-inferiority checks pass, no harm."""
    assert statuses(step()) == dict.fromkeys(
        ("seq_error_rate", "seq_latency", "seq_latency_shift", "ni_error_rate", "ni_latency"),
        CheckStatus.PASS,
    )


def test_too_few_samples_are_inconclusive() -> None:
    """Under seq_min_samples candidate samples nothing decides."""
    result = statuses(step(cand=20, cand_errors=0))
    assert set(result.values()) == {CheckStatus.INCONCLUSIVE}


def test_a_thin_step_says_how_much_more_it_needs() -> None:
    """Non-inferiority not yet shown names the candidate samples it would take."""
    checks = sequential_checks(step(cand=120, cand_errors=0), POLICY, False, False, "test")
    ni = next(c for c in checks if c.name == "ni_error_rate")
    assert ni.status is CheckStatus.INCONCLUSIVE
    assert "more candidate samples" in ni.detail


def test_more_errors_fail_seq_error_rate() -> None:
    """3 % errors against 0.3 % over the step is harm."""
    result = statuses(step(cand_errors=90))
    assert result["seq_error_rate"] is CheckStatus.FAIL
    assert result["ni_error_rate"] is CheckStatus.INCONCLUSIVE


def test_a_slower_tail_fails_seq_latency() -> None:
    """A candidate whose p95 is twice the baseline's has far more requests above it: harm."""
    result = statuses(step(cand_p95=0.1))
    assert result["seq_latency"] is CheckStatus.FAIL
    assert result["ni_latency"] is CheckStatus.INCONCLUSIVE


def test_at_full_weight_the_limits_are_the_reference() -> None:
    """At 100 % (no baseline traffic) errors compare with max_error_rate, latency with max_p95_s."""
    healthy = StepWindows(window(0), window(3000, 0.05, 3))
    assert statuses(healthy, full=True)["ni_error_rate"] is CheckStatus.PASS
    assert statuses(healthy, full=True)["ni_latency"] is CheckStatus.PASS
    slow = StepWindows(window(0), window(3000, 0.4, 3))
    assert statuses(slow, full=True)["seq_latency"] is CheckStatus.FAIL


@pytest.mark.parametrize(
    ("evidence", "degraded", "detail"),
    [(None, False, "not run (test)"), (step(), True, "comparison invalid: baseline degraded")],
)
def test_skipped_without_evidence_or_with_a_degraded_baseline(
    evidence: StepWindows | None, degraded: bool, detail: str
) -> None:
    """No evidence, or a degraded control, skips every sequential check and says why."""
    checks = sequential_checks(evidence, POLICY, False, degraded, "test")
    assert {c.status for c in checks} == {CheckStatus.SKIPPED}
    assert {c.detail for c in checks} == {detail}


def test_sequential_analysis_promotes_on_non_inferiority_not_on_the_window() -> None:
    """A thin route (20 candidate samples in the window) promotes once the step's evidence does."""
    verdict = analyse(progress(), window(200), window(20), RateSample(0, 0), POLICY, step())
    assert verdict.decision is Decision.PROMOTE
    assert verdict.check("latency_p95").status is CheckStatus.INCONCLUSIVE


def test_sequential_analysis_waits_for_non_inferiority() -> None:
    """Healthy windows, but too little step evidence: inconclusive, saying what is not shown yet."""
    verdict = analyse(
        progress(), window(), window(), RateSample(0, 0), POLICY, step(cand=120, cand_errors=0)
    )
    assert verdict.decision is Decision.INCONCLUSIVE
    assert any(r.startswith("ni_error_rate: not shown yet") for r in verdict.reasons)


def test_sequential_harm_rolls_back_at_once_without_a_hard_breach() -> None:
    """One failing sequential harm test rolls back (no three in a row); it is not a hard breach."""
    verdict = analyse(
        progress(), window(), window(), RateSample(0, 0), POLICY, step(cand_errors=90)
    )
    assert verdict.decision is Decision.ROLLBACK
    assert not verdict.hard_breach
    assert [c.name for c in verdict.failed] == ["seq_error_rate"]


def test_windowed_policy_ignores_the_step_evidence() -> None:
    """analysis: windowed keeps the old rules: the sequential checks are skipped."""
    windowed = Policy(analysis="windowed")
    verdict = analyse(
        progress(), window(200), window(20), RateSample(0, 0), windowed, step(cand_errors=90)
    )
    assert verdict.decision is Decision.INCONCLUSIVE
    assert verdict.check("seq_error_rate").status is CheckStatus.SKIPPED


def test_shadow_only_steps_are_judged_on_shadow_comparisons() -> None:
    """A 0 % step skips the sequential checks whatever its evidence."""
    verdict = analyse(
        progress(weight_bps=0), window(), window(0), RateSample(1000, 0), POLICY, step()
    )
    assert verdict.check("ni_latency").status is CheckStatus.SKIPPED
    assert verdict.decision is Decision.PROMOTE


def test_a_regressed_operation_is_named_in_the_verdict() -> None:
    """One operation 3x slower rolls back with its name, while the route as a whole passes."""
    ops = {"list_tasks": step(), "create_task": step(cand=600, base=600, cand_p95=0.15)}
    verdict = analyse(
        progress(), window(), window(), RateSample(0, 0), POLICY, step(), operations=ops
    )
    assert verdict.decision is Decision.ROLLBACK
    assert [c.label for c in verdict.failed] == [
        "seq_latency[create_task]",
        "seq_latency_shift[create_task]",
    ]
    assert verdict.reasons[0].startswith("seq_latency[create_task]: ")
    assert verdict.check("seq_latency").status is CheckStatus.PASS  # the route's own
    assert verdict.check("seq_latency_shift").status is CheckStatus.PASS


def test_operations_with_too_few_samples_are_left_out() -> None:
    """A rare operation is not judged until it has seq_min_samples on both sides."""
    checks = operation_checks({"rare": step(cand=10, base=10)}, POLICY, False, False)
    assert checks == ()


def test_operations_share_half_the_budget() -> None:
    """With operations the route's harm tests keep half the false-rollback budget."""
    assert route_share(0) == 1.0
    assert route_share(5) == 0.5


def test_a_degraded_baseline_judges_no_operation() -> None:
    """While the control is degraded no operation is compared either."""
    assert operation_checks({"op": step(cand_errors=90)}, POLICY, False, True) == ()


def test_no_operation_is_judged_at_full_weight() -> None:
    """At 100 % an operation has no baseline to compare with: none is judged."""
    slow = StepWindows(window(0), window(3000, 0.4, 3))
    assert operation_checks({"scan": slow}, POLICY, True, False) == ()


def test_at_full_weight_fallbacks_failing_alike_are_no_harm() -> None:
    """At 100 % errors whose fallbacks on the baseline fail alike are a shared cause, not harm."""
    shared = StepWindows(window(40, errors=4), window(3000, 0.05, 150))
    own = StepWindows(window(40, errors=0), window(3000, 0.05, 150))
    none = StepWindows(window(0), window(3000, 0.05, 150))
    assert statuses(shared, full=True)["seq_error_rate"] is CheckStatus.PASS
    assert statuses(own, full=True)["seq_error_rate"] is CheckStatus.FAIL
    assert statuses(none, full=True)["seq_error_rate"] is CheckStatus.FAIL


def test_a_uniform_slowdown_fails_the_shift_test_before_the_tail_share() -> None:
    """Every request x1.2, 800 samples a side: seq_latency_shift fails, the tail share not yet."""
    result = statuses(step(cand=800, base=800, cand_errors=0, base_errors=0, cand_p95=0.06))
    assert result["seq_latency_shift"] is CheckStatus.FAIL
    assert result["seq_latency"] is CheckStatus.PASS


def test_a_faster_candidate_fails_no_harm_test() -> None:
    """A candidate 20 % faster everywhere passes every harm test."""
    result = statuses(step(cand_p95=0.04))
    assert {result[n] for n in ("seq_error_rate", "seq_latency", "seq_latency_shift")} == {
        CheckStatus.PASS
    }


def test_the_shift_test_is_skipped_at_full_weight() -> None:
    """At 100 % there is no baseline to shift from: skipped, the tail share against the limit."""
    healthy = StepWindows(window(0), window(3000, 0.05, 3))
    checks = sequential_checks(healthy, POLICY, True, False, "test")
    shift = next(c for c in checks if c.name == "seq_latency_shift")
    assert shift.status is CheckStatus.SKIPPED


def test_the_route_shift_test_is_stratified_by_its_operations() -> None:
    """Operations that make up the route stratify it: a mix difference alone is no slowdown."""
    fast = StepWindows(window(2700, 0.02), window(2400, 0.02))
    slow = StepWindows(window(300, 0.2), window(600, 0.2))
    route = StepWindows(
        window_of(fast.baseline, slow.baseline), window_of(fast.candidate, slow.candidate)
    )
    alone = sequential_checks(route, POLICY, False, False, "test")
    split = sequential_checks(route, POLICY, False, False, "test", 2, {"f": fast, "s": slow})
    assert next(c for c in alone if c.name == "seq_latency_shift").status is CheckStatus.FAIL
    assert next(c for c in split if c.name == "seq_latency_shift").status is CheckStatus.PASS
