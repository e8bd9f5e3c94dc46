"""The latency shift test (migration.latency_shift): power, A/A, faster candidates, heavy tails."""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from migration.latency_shift import log_shift, shift_check, strata_of
from migration.policy import Policy
from migration.sketch import LatencySketch
from migration.step_checks import route_share
from migration.verdict import BackendWindow, CheckStatus, StepWindows

POLICY = Policy()
#: The route's shift test alone, at its share of the budget with operations judged beside it.
ALPHA = POLICY.false_rollback_budget * route_share(5) / 3

Draw = Callable[[random.Random], float]


def body(median_s: float = 0.012, sigma: float = 0.5) -> Draw:
    """A lognormal latency."""
    return lambda rng: math.exp(math.log(median_s) + sigma * rng.gauss(0.0, 1.0))


def heavy(median_s: float = 0.012) -> Draw:
    """The bench's tail and worse: 2 % of requests 4-8x slower, 0.2 % timing out at 30 s."""
    base = body(median_s)

    def draw(rng: random.Random) -> float:
        u = rng.random()
        if u < 0.002:
            return 30.0
        value = base(rng)
        return value * rng.uniform(4.0, 8.0) if u < 0.022 else value

    return draw


def sketch(rng: random.Random, draw: Draw, n: int, factor: float = 1.0) -> LatencySketch:
    """``n`` latencies drawn from ``draw``, each multiplied by ``factor``."""
    return LatencySketch.of(draw(rng) * factor for _ in range(n))


def fires(
    seed: int,
    base: Draw,
    cand: Draw,
    factor: float = 1.0,
    policy: Policy = POLICY,
    alpha: float = ALPHA,
    looks: int = 30,
    per_look: int = 50,
) -> bool:
    """Whether the test fires at any of ``looks`` reads of accumulating evidence (both sides)."""
    rng = random.Random(seed)
    b, c = LatencySketch(), LatencySketch()
    for _ in range(looks):
        b.merge(sketch(rng, base, per_look))
        c.merge(sketch(rng, cand, per_look, factor))
        if log_shift([(b, c)], policy, alpha).harm:
            return True
    return False


def test_a_uniform_20_percent_slowdown_is_detected() -> None:
    """Every request x1.2 (p95 +20 %) is shown above the 5 % margin with 3,000 samples a side."""
    rng = random.Random(1)
    base, cand = sketch(rng, heavy(), 3000), sketch(rng, heavy(), 3000, 1.2)
    shift = log_shift([(base, cand)], POLICY, ALPHA)
    assert shift.harm
    assert math.exp(shift.difference) > 1.15
    check = shift_check(shift, POLICY)
    assert check.status is CheckStatus.FAIL
    assert check.candidate is not None
    assert check.candidate > 0.15
    assert "rolls back past x1.05" in check.detail


def test_a_slowdown_within_the_margin_is_not_harm() -> None:
    """x1.02 with plenty of evidence is a difference, not one past the margin: it passes."""
    rng = random.Random(2)
    base, cand = sketch(rng, body(), 20_000), sketch(rng, body(), 20_000, 1.02)
    assert not log_shift([(base, cand)], POLICY, ALPHA).harm


def test_a_and_a_never_fires_over_many_seeded_runs() -> None:
    """100 A/A runs with heavy tails, each read 30 times as it grows to 1,500 a side: no alarm."""
    assert sum(fires(seed, heavy(), heavy()) for seed in range(100)) == 0


def test_a_and_a_stays_within_alpha_at_the_edge_of_the_null() -> None:
    """With no margin and alpha 5 %, 200 heavy-tailed A/A runs read 30 times fire at most 5 %."""
    edge = Policy(latency_shift_margin=1e-9)
    alarms = sum(fires(seed, heavy(), heavy(), policy=edge, alpha=0.05) for seed in range(200))
    assert alarms <= 10


def test_faster_candidates_never_fail() -> None:
    """A candidate 20 % faster never fails, even with no margin and alpha 5 % (50 seeded runs)."""
    edge = Policy(latency_shift_margin=1e-9)
    runs = (fires(seed, heavy(), heavy(), 0.8, edge, 0.05) for seed in range(50))
    assert not any(runs)


def test_a_heavy_tail_on_the_candidate_alone_does_not_trigger_it() -> None:
    """0.5 % of the candidate's requests at 30 s (a tail, not a shift) moves no winsorised mean."""
    rng = random.Random(3)
    base = sketch(rng, body(), 5000)
    cand = sketch(rng, body(), 4975)
    cand.add(30.0, 25)
    assert not log_shift([(base, cand)], POLICY, ALPHA).harm


def test_a_faster_median_with_a_slower_tail_is_left_to_the_tail_test() -> None:
    """Faster at the median, 3x slower on the slowest 10 %: seq_latency's shift test passes."""
    rng = random.Random(4)
    base = sketch(rng, body(), 5000)
    values = sorted(body()(rng) * 0.8 for _ in range(5000))
    cand = LatencySketch.of(values[:4500] + [v * 3.0 for v in values[4500:]])
    assert not log_shift([(base, cand)], POLICY, ALPHA).harm


def test_stratifying_by_operation_ignores_a_different_mix() -> None:
    """The candidate got more of a slow operation by chance: not a slowdown once stratified."""
    rng = random.Random(5)
    fast, slow = body(0.010), body(0.050)
    base_fast, base_slow = sketch(rng, fast, 2700), sketch(rng, slow, 300)
    cand_fast, cand_slow = sketch(rng, fast, 2400), sketch(rng, slow, 600)
    whole = (
        LatencySketch.merged((base_fast, base_slow)),
        LatencySketch.merged((cand_fast, cand_slow)),
    )
    assert log_shift([whole], POLICY, ALPHA).harm  # the mix alone looks like +17 %
    assert not log_shift([(base_fast, cand_fast), (base_slow, cand_slow)], POLICY, ALPHA).harm


def test_stratifying_sees_a_uniform_slowdown_with_less_noise() -> None:
    """x1.2 on every operation: the stratified bound is closer to the truth than the pooled one."""
    rng = random.Random(6)
    ops = [body(0.008), body(0.012), body(0.040)]
    parts = [(sketch(rng, op, 500), sketch(rng, op, 500, 1.2)) for op in ops]
    whole = (
        LatencySketch.merged(b for b, _ in parts),
        LatencySketch.merged(c for _, c in parts),
    )
    pooled, stratified = log_shift([whole], POLICY, ALPHA), log_shift(parts, POLICY, ALPHA)
    assert stratified.harm_bound > pooled.harm_bound


def test_thin_strata_are_pooled_not_dropped() -> None:
    """Operations under the minimum on a side are judged together, so no sample is lost."""
    rng = random.Random(7)
    parts = [(sketch(rng, body(), 30), sketch(rng, body(), 30)) for _ in range(4)]
    shift = log_shift(parts, POLICY, ALPHA, min_samples=50)
    assert (shift.n_cand, shift.n_base) == (120, 120)


def test_no_samples_decide_nothing() -> None:
    """Without two samples a side there is no variance: never harm, an infinite bound."""
    one = LatencySketch.of([0.01])
    shift = log_shift([(one, LatencySketch.of([1.0]))], POLICY, ALPHA)
    assert not shift.harm
    assert shift.harm_bound == -math.inf
    assert not log_shift([(None, None)], POLICY, ALPHA).harm


def _window(latency: LatencySketch) -> BackendWindow:
    return BackendWindow(latency.count, 0, latency)


def test_strata_are_the_operations_only_when_they_make_up_the_route() -> None:
    """Operations holding 90-100 % of the route's evidence stratify it; otherwise the route's."""
    rng = random.Random(8)
    a = [(sketch(rng, body(), 100), sketch(rng, body(), 100)) for _ in range(2)]
    ops = {
        f"op{i}": StepWindows(_window(b), _window(c), restarts=((1, _window(b), _window(c)),))
        for i, (b, c) in enumerate(a)
    }
    route_b = _window(LatencySketch.merged(b for b, _ in a))
    route_c = _window(LatencySketch.merged(c for _, c in a))
    assert len(strata_of(0, route_b, route_c, ops)) == 2
    assert len(strata_of(1, route_b, route_c, ops)) == 2
    assert len(strata_of(2, route_b, route_c, ops)) == 1  # no operation has that restart
    assert len(strata_of(0, route_b, route_c, None)) == 1
    bigger = _window(sketch(rng, body(), 400))
    assert strata_of(0, bigger, route_c, ops) == [(bigger.latency, route_c.latency)]
