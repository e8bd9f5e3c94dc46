"""Rollback-time benchmark: the real analysis and controller, a fake clock, seeded randomness.

Traffic is simulated request by request into the real :class:`~migration.metrics.MigrationMetrics`
(50 % weight of 100 requests/s = 50 candidate requests/s), and the real
:class:`~migration.controller.MigrationController` is stepped on a fake clock. Scenarios:

* ``latency_2x`` — from a random onset, candidate latencies are doubled (so is its p95);
* ``errors_plus_5pt`` — from the onset, the candidate's error rate rises by 5 points;
* ``unreachable`` — from the onset, every candidate attempt is a connect error (a hard breach);
* ``healthy`` — both backends draw from the same lognormal latency and 0.3 % error distribution;
* ``low_traffic_*`` — 1 candidate request/s, healthy and regressed: nothing may promote or roll back.

The controller interval is **1 s** here (the default loop interval is 5 s): a hard breach is
visible within 0.4 s (the last 20 attempts) and acted on at the next evaluation, so the 2 s hard
target needs an interval below ~1.5 s; the soft 10 s target leaves room for 3 consecutive failing
evaluations only at about 1-2 s. The onset is placed uniformly at random within an interval, so the
figures include the wait for the next evaluation.

Run: ``python -m bench.rollback`` (prints a markdown table, writes ``bench/results/rollback.json``).
"""

from __future__ import annotations

import json
import logging
import math
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from migration.analysis import Decision, Policy
from migration.controller import MigrationController
from migration.metrics import MigrationMetrics
from migration.plan import Plan, Step
from migration.state import Phase
from migration.testing import FakeClock, InMemoryStore, RecordingWeights

ROUTE = "api"
INTERVAL_S = 1.0
WARMUP_S = 20.0
AFTER_ONSET_S = 30.0
BASE_MEDIAN_S = 0.020
SIGMA = 0.5
BASE_ERROR = 0.003
RESULTS = Path(__file__).parent / "results" / "rollback.json"

# Anchor products' worst case from onset to rollback, from their documented defaults/examples.
ANCHORS: tuple[tuple[str, str, float], ...] = (
    ("Flagger, code defaults", "interval 60 s x threshold 1", 60.0 * 1),
    ("Flagger, tutorial config", "interval 1m x threshold 5", 60.0 * 5),
    ("Argo Rollouts, failureLimit default 0", "(0 + 1) x interval 5m (docs example)", 1 * 300.0),
    ("Argo Rollouts, docs example", "(failureLimit 3 + 1) x interval 5m", 4 * 300.0),
)


@dataclass
class Scenario:
    """How candidate attempts behave after the onset."""

    name: str
    latency_factor: float = 1.0
    extra_error: float = 0.0
    unreachable: bool = False
    sigma: float = SIGMA  # lognormal shape of both backends' latencies


@dataclass
class Trial:
    """Outcome of one simulated run."""

    rolled_back_after_s: float | None
    evaluations: int
    promoted: bool
    reasons: list[str] = field(default_factory=list)
    soft_failures: int = 0  # evaluations with at least one failing check


def _controller(clock: FakeClock, plan: Plan) -> tuple[MigrationController, MigrationMetrics]:
    metrics = MigrationMetrics(clock)
    controller = MigrationController(
        store=InMemoryStore(),
        source=metrics,
        weights=RecordingWeights(),
        policy=Policy(),
        clock=clock,
        interval_s=INTERVAL_S,
    )
    controller.start(plan)
    return controller, metrics


def simulate(
    scenario: Scenario,
    seed: int,
    *,
    total_rps: float = 100.0,
    weight: float = 0.5,
    warmup_s: float = WARMUP_S,
    after_s: float = AFTER_ONSET_S,
    plan: Plan | None = None,
) -> Trial:
    """One run: healthy warm-up, onset at a random phase, stop at rollback or ``after_s``."""
    rng = random.Random(seed)
    clock = FakeClock(1_000_000.0)
    plan = plan or Plan(ROUTE, (Step(round(weight * 10_000), hold_s=1e9, min_requests=10**9),))
    controller, metrics = _controller(clock, plan)
    start = clock.now
    onset = start + warmup_s + rng.random() * INTERVAL_S
    end = onset + after_s
    next_eval = start + INTERVAL_S
    t = start
    mu = math.log(BASE_MEDIAN_S)
    evaluations = soft = 0
    promoted = False
    gap = 1.0 / total_rps
    while t < end:
        t += rng.expovariate(1.0 / gap)
        while next_eval <= t and next_eval < end:
            clock.now = next_eval
            for ev in controller.step():
                evaluations += 1
                soft += bool(ev.verdict.failed)
                if ev.verdict.decision is Decision.PROMOTE:
                    promoted = True
                if ev.state.phase is Phase.ROLLED_BACK:
                    reasons = list(ev.verdict.reasons)
                    return Trial(next_eval - onset, evaluations, promoted, reasons, soft)
            next_eval += INTERVAL_S
        clock.now = t
        bad = t >= onset
        latency = rng.lognormvariate(mu, scenario.sigma)
        if rng.random() >= weight:
            failed = rng.random() < BASE_ERROR
            metrics.observe(ROUTE, "baseline", 500 if failed else 200, latency, None)
            continue
        if bad and scenario.unreachable:
            metrics.observe(ROUTE, "candidate", 502, 0.001, "connect")
            continue
        factor = scenario.latency_factor if bad else 1.0
        failed = rng.random() < BASE_ERROR + (scenario.extra_error if bad else 0.0)
        metrics.observe(ROUTE, "candidate", 500 if failed else 200, latency * factor, None)
    return Trial(None, evaluations, promoted, soft_failures=soft)


def _dist(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]

    return {
        "p50": round(statistics.median(ordered), 3),
        "p95": round(pick(0.95), 3),
        "max": round(ordered[-1], 3),
    }


def run_detection(scenario: Scenario, trials: int, target_s: float) -> dict[str, Any]:
    """Many seeded trials of a regression; the distribution of onset-to-rollback times."""
    times: list[float] = []
    missed = 0
    reasons: dict[str, int] = {}
    for seed in range(trials):
        trial = simulate(scenario, seed)
        if trial.rolled_back_after_s is None:
            missed += 1
            continue
        times.append(trial.rolled_back_after_s)
        for reason in trial.reasons:
            key = reason.split(":", 1)[0]
            reasons[key] = reasons.get(key, 0) + 1
    dist = _dist(times) if times else {"p50": math.nan, "p95": math.nan, "max": math.nan}
    return {
        "scenario": scenario.name,
        "trials": trials,
        "missed": missed,
        "target_s": target_s,
        "met": missed == 0 and bool(times) and max(times) <= target_s,
        "reasons": reasons,
        **dist,
    }


def run_healthy(runs: int, seconds: float, sigma: float = SIGMA) -> dict[str, Any]:
    """Healthy traffic for ``runs`` x ``seconds``: every rollback is a false one."""
    evaluations = rollbacks = soft = 0
    for seed in range(runs):
        scenario = Scenario("healthy", sigma=sigma)
        trial = simulate(scenario, 10_000 + seed, warmup_s=seconds, after_s=0.0)
        evaluations += trial.evaluations
        soft += trial.soft_failures
        rollbacks += trial.rolled_back_after_s is not None
    return {
        "sigma": sigma,
        "evaluations": evaluations,
        "false_rollbacks": rollbacks,
        "single_failing_evaluations": soft,
        "met": rollbacks == 0,
    }


def run_low_traffic(seconds: float) -> dict[str, Any]:
    """1 candidate request/s: neither healthy nor regressed traffic may promote or roll back."""
    plan = Plan(ROUTE, (Step(5000, hold_s=30.0, min_requests=20), Step(10_000)))
    out: dict[str, Any] = {}
    for scenario in (
        Scenario("healthy"),
        Scenario("latency_2x", latency_factor=2.0),
        Scenario("errors_plus_5pt", extra_error=0.05),
    ):
        trial = simulate(
            scenario, 20_000, total_rps=2.0, warmup_s=seconds / 2, after_s=seconds / 2, plan=plan
        )
        out[scenario.name] = {
            "evaluations": trial.evaluations,
            "promoted": trial.promoted,
            "rolled_back": trial.rolled_back_after_s is not None,
        }
    out["met"] = not any(
        v["promoted"] or v["rolled_back"] for v in out.values() if isinstance(v, dict)
    )
    return out


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def render(results: dict[str, Any]) -> str:
    """The markdown table printed by :func:`main`."""
    lines = [
        f"Rollback timing (controller interval {INTERVAL_S:g} s, 50 candidate req/s, "
        f"{results['trials']} seeded trials each)",
        "",
        _row(["scenario", "target", "p50 s", "p95 s", "max s", "missed", "met"]),
        _row(["---"] * 7),
    ]
    for r in results["detection"]:
        lines.append(
            _row(
                [
                    r["scenario"],
                    f"<= {r['target_s']:g} s",
                    f"{r['p50']:.2f}",
                    f"{r['p95']:.2f}",
                    f"{r['max']:.2f}",
                    str(r["missed"]),
                    "yes" if r["met"] else "NO",
                ]
            )
        )
    for h in results["healthy"]:
        evals = f"{h['false_rollbacks']} in {h['evaluations']} evals"
        evals += f" ({h['single_failing_evaluations']} single failing)"
        name = f"healthy, lognormal sigma {h['sigma']:g} (false rollbacks)"
        lines.append(_row([name, "0", "-", "-", "-", evals, "yes" if h["met"] else "NO"]))
    low = results["low_traffic"]
    lines.append(
        _row(["1 req/s: no promote / rollback", "none", "-", "-", "-", "-",
              "yes" if low["met"] else "NO"])
    )  # fmt: skip
    lines += ["", _row(["anchor", "setting", "worst case to rollback"]), _row(["---"] * 3)]
    for name, setting, seconds in ANCHORS:
        lines.append(_row([name, setting, f"{seconds:g} s"]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run every scenario; 0 when all targets are met."""
    saved = structlog.get_config()
    # Thousands of simulated decisions: keep the controller's info events out of the output.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    try:
        return _main(argv)
    finally:
        structlog.configure(**saved)


def _main(argv: list[str] | None) -> int:
    args = sys.argv[1:] if argv is None else argv
    trials = int(args[0]) if args else 100
    started = time.perf_counter()
    scenarios: list[tuple[Scenario, float]] = [
        (Scenario("latency_2x", latency_factor=2.0), 10.0),
        (Scenario("errors_plus_5pt", extra_error=0.05), 10.0),
        (Scenario("unreachable", unreachable=True), 2.0),
    ]
    detection = [run_detection(s, trials, target) for s, target in scenarios]
    results: dict[str, Any] = {
        "interval_s": INTERVAL_S,
        "candidate_rps": 50,
        "trials": trials,
        "policy": Policy().__dict__,
        "detection": detection,
        "healthy": [run_healthy(10, 60.0), run_healthy(10, 60.0, sigma=1.0)],
        "low_traffic": run_low_traffic(300.0),
        "anchors": [{"name": n, "setting": s, "worst_case_s": v} for n, s, v in ANCHORS],
    }
    results["elapsed_s"] = round(time.perf_counter() - started, 1)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(render(results))
    print(f"\n(wrote {RESULTS}, {results['elapsed_s']} s)")
    met = all(r["met"] for r in detection) and all(h["met"] for h in results["healthy"])
    return 0 if met and results["low_traffic"]["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
