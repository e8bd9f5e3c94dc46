"""bench/rollback.py's simulation, on a handful of seeds (the full run is `python -m bench.rollback`)."""

from __future__ import annotations

from bench.rollback import Scenario, render, run_detection, run_low_traffic, simulate


def test_regressions_roll_back_quickly_and_healthy_does_not() -> None:
    """2x latency rolls back within 10 s, unreachable within 2 s, healthy never."""
    latency = run_detection(Scenario("latency_2x", latency_factor=2.0), trials=3, target_s=10.0)
    assert latency["met"], latency
    unreachable = run_detection(Scenario("unreachable", unreachable=True), trials=3, target_s=2.0)
    assert unreachable["met"], unreachable
    healthy = simulate(Scenario("healthy"), seed=1, warmup_s=40.0, after_s=0.0)
    assert healthy.rolled_back_after_s is None
    assert healthy.evaluations >= 39


def test_low_traffic_neither_promotes_nor_rolls_back() -> None:
    """At 1 candidate request/s there is never enough data to act."""
    result = run_low_traffic(60.0)
    assert result["met"], result


def test_render_lists_anchors() -> None:
    """The printed table includes the Flagger and Argo Rollouts anchors."""
    row = {
        "scenario": "x",
        "target_s": 10.0,
        "p50": 1.0,
        "p95": 2.0,
        "max": 3.0,
        "missed": 0,
        "met": True,
    }
    text = render(
        {
            "trials": 1,
            "detection": [row],
            "healthy": [
                {
                    "sigma": 0.5,
                    "evaluations": 1,
                    "false_rollbacks": 0,
                    "single_failing_evaluations": 0,
                    "met": True,
                }
            ],
            "low_traffic": {"met": True},
        }
    )
    assert "Flagger" in text
    assert "Argo Rollouts" in text
