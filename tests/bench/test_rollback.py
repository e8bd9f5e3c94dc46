"""The rollback bench's pieces: the traffic model, one replay through the
real controller, the table."""

from __future__ import annotations

from collections import Counter

import pytest

from bench.rollback import SCENARIOS, Scenario, render, summarise_rollouts, summarise_trials
from bench.rollouts import ANALYSES, ROUTE, SHARED, replay, trial
from bench.traffic import OPERATIONS, Regression, Request, Tape, TrafficModel
from migration.plan import Plan, Step

#: No bursts of any kind: what is left is the steady model (lognormal body, slow mode, diurnal).
STEADY = TrafficModel(
    rate_burst_every_s=1e9, shared_burst_every_s=1e9, side_burst_every_s=1e9, diurnal_amplitude=0.0
)


def _requests(tape: Tape, seconds: float) -> list[Request]:
    return [r for i in range(int(seconds / Tape.CHUNK_S)) for r in tape.chunk(i)]


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))]


def test_a_tape_is_the_same_for_the_same_seed() -> None:
    """Two tapes of one seed draw identical requests and bursts; another seed draws others."""
    a, b, c = Tape(7), Tape(7), Tape(8)
    assert _requests(a, 30) == _requests(b, 30)
    assert a.error_bursts == b.error_bursts
    assert a.rate_bursts == b.rate_bursts
    assert _requests(a, 30) != _requests(c, 30)


def test_a_chunk_read_twice_is_drawn_once() -> None:
    """A second reader (the other analysis) gets the very requests the first one got."""
    tape = Tape(3)
    first = tape.chunk(2)
    assert tape.chunk(2) is first
    assert all(20.0 <= r.t < 30.0 for r in first)


def test_operations_have_their_skewed_shares() -> None:
    """60/20/10/5/5 % of the requests go to the five operations, in the order declared."""
    requests = _requests(Tape(1, STEADY), 300)
    counts = Counter(r.op for r in requests)
    for index, op in enumerate(OPERATIONS):
        assert counts[index] / len(requests) == pytest.approx(op.share, abs=0.01)


def test_latencies_have_a_heavy_tail() -> None:
    """Route p50 ~13 ms, p95 ~51 ms, p99 ~100 ms: the slow mode stretches the tail past the body."""
    latencies = [r.latency_s for r in _requests(Tape(2, STEADY), 600)]
    assert _quantile(latencies, 0.50) == pytest.approx(0.0126, rel=0.1)
    assert _quantile(latencies, 0.95) == pytest.approx(0.051, rel=0.1)
    assert _quantile(latencies, 0.99) == pytest.approx(0.100, rel=0.2)


def test_the_rate_follows_the_model() -> None:
    """Without swings or bursts the route gets its configured rate; a rate burst triples it."""
    requests = _requests(Tape(4, STEADY), 300)
    assert len(requests) / 300 == pytest.approx(100, rel=0.05)
    tape = Tape(5)
    burst = tape.rate_bursts[0]
    assert tape.rate(burst.start) == pytest.approx(3 * tape.rate(burst.start - 1e-9), rel=1e-3)


def test_healthy_traffic_treats_both_backends_alike() -> None:
    """Shared bursts hit both backends; one-sided bursts pick either backend about equally."""
    tape = Tape(6, horizon_s=400_000.0)
    sides = Counter(b.side for b in tape.error_bursts)
    assert sides["both"] > 0
    assert sides["candidate"] == pytest.approx(sides["baseline"], rel=0.35)
    steady = _requests(Tape(6, STEADY), 60)
    assert all(r.p_baseline == r.p_candidate == STEADY.error_rate for r in steady)


@pytest.mark.parametrize("analysis", list(ANALYSES))
def test_a_short_healthy_rollout_completes(analysis: str) -> None:
    """Steady traffic through the real controller walks 50 % -> 100 % to completion."""
    plan = Plan(ROUTE, (Step(5000, hold_s=20, min_requests=200), Step(10_000, hold_s=20)))
    outcome = replay(Tape(11, STEADY), plan, ANALYSES[analysis], until_s=600)
    assert outcome.phase == "completed", outcome
    assert len(outcome.promotions) == 2


def test_a_p95_x2_trial_rolls_back_after_its_onset() -> None:
    """Both analyses roll a doubled latency back, and time it from the onset."""
    out = trial(21, Regression("x2", latency_factor=2.0), route_rps=100, weight_bps=5000,
                after_s=30, warmup_s=(30, 40))  # fmt: skip
    assert 30 <= out["onset_s"] <= 40
    for name in ANALYSES:
        assert 0 <= out[name]["after_onset_s"] <= 30, out


def test_an_unreachable_candidate_rolls_back_at_once() -> None:
    """Connect errors on every candidate attempt are a hard breach: rolled back within 2 s."""
    out = trial(22, Regression("down", unreachable=True), route_rps=100, weight_bps=5000,
                after_s=10, warmup_s=(30, 40))  # fmt: skip
    for name in ANALYSES:
        assert 0 <= out[name]["after_onset_s"] <= 2, out
        assert "unreachable" in out[name]["reasons"]


def test_trials_before_the_onset_are_left_out_of_detection() -> None:
    """An early rollback is counted apart; misses count as slower than any detection."""
    s = Scenario("x", Regression("x"), 100, 5000, target_s=10, after_s=30)
    runs = [
        {"new": {"after_onset_s": t, "reasons": ["latency_p95"]}} for t in (2.0, 4.0, -5.0, None)
    ]
    summary = summarise_trials(s, runs, "new")
    assert (summary["trials"], summary["within_target"], summary["early"]) == (3, 2, 1)
    assert summary["p95_s"] is None
    assert not summary["met"]


def test_the_table_renders_every_target_side_by_side() -> None:
    """One row per target with previous and new columns, then the anchors."""
    rollout = {"phase": "completed", "end_s": 180.0, "step": 2, "reasons": [], "cause": "none",
               "into_step_s": 60.0, "promotions": [60.0, 120.0, 180.0]}  # fmt: skip
    rolled = {**rollout, "phase": "rolled_back", "step": 1, "reasons": ["error_rate_limit"],
              "cause": SHARED}  # fmt: skip
    runs = [
        {"seed": 0, "previous": rolled, "new": rollout},
        {"seed": 1, "previous": rollout, "new": rollout},
    ]
    trials = [{name: {"after_onset_s": 5.0, "promoted_s": 200.0, "phase": "completed"}
               for name in ANALYSES}]  # fmt: skip
    scenarios = [
        {"label": s.label, "target_s": s.target_s, "power": s.power, "after_s": s.after_s}
        | {a: summarise_trials(s, trials, a) for a in ANALYSES}
        for s in SCENARIOS
    ]
    results = {
        "rollouts": 2,
        "trials": 1,
        "healthy_rollouts": {a: summarise_rollouts(runs, a) for a in ANALYSES},
        "scenarios": scenarios,
    }
    table = render(results)
    assert "| target | previous | met | new | met |" in table
    false = "| 1/2 (50.0%): error_rate_limit 1; 1 in a shared error burst | NO |"
    assert f"| false rollbacks, 10->50->100 % <= 1 % {false}" in table
    assert "0/2 (0.0%) | yes |" in table
    assert table.count("\n| p95 x2 <= 10 s | 1/1 in time") == 1
    assert "Flagger, code defaults" in table
