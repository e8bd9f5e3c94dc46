"""Rollback bench (issue #14): whole simulated rollouts, the previous analysis beside the new one.

Everything runs through the real :class:`~migration.controller.MigrationController`, analysis and
:class:`~migration.metrics.MigrationMetrics` on a fake clock (:mod:`bench.rollouts`), fed with
realistic seeded traffic (:mod:`bench.traffic`: five operations, heavy-tailed latencies, a rate
that swings and bursts, bursty errors). Each seed's traffic is replayed once per analysis —
*previous* is ``Policy(analysis="windowed")``, *new* is ``Policy()`` — so the two columns judge
the same requests.

Rows (issue #14's targets):

* **healthy rollouts** of 10 -> 50 -> 100 % (hold 60 s, 500 requests per step, 100 req/s on the
  route): every rollback is a false one (target <= 1 %); the median time to complete is reported;
* **detection at 50 candidate req/s** (a 50 % step of 100 req/s): the regression starts after a
  random 30-120 s healthy warm-up in the step, so the step's evidence dilutes it as it would;
* **a hard breach** (issue #12, kept from the bench before): every candidate attempt fails to
  connect, rolled back <= 2 s;
* **thin traffic, 2 candidate req/s** (10 % of 20 req/s, and 50 % of 4 req/s): a healthy step
  with the plan defaults promotes within hold + 5 min; a 2x latency regression rolls back <= 2 min.

"met" means every trial within the target, except where the target states a power (p95 +20 %:
95 % of trials). Times are from the onset (or the step's start) to the evaluation that acted; the
p50/p95 count a trial that never acted as slower than any that did. A trial rolled back before
its onset is left out of its row (and said so): false rollbacks are the healthy rollouts' row.

Run: ``python -m bench rollback`` (the full targets: 1000 rollouts, 200 trials per row, 2
processes; about 5 minutes on 2 cores), or ``python -m bench.rollback --rollouts N --trials N
--workers N`` for a quick run (``bench/__main__.py`` passes no options to a suite). Prints a
markdown table, writes ``bench/results/rollback.json``; exits 0 when the new analysis meets every
target.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import structlog

from bench.rollouts import ANALYSES, INTERVAL_S, SHARED, quiet, rollout, trial
from bench.traffic import OPERATIONS, Regression

RESULTS = Path(__file__).parent / "results" / "rollback.json"
TRAFFIC = (
    "Traffic (bench/traffic.py): 5 operations (60/20/10/5/5 %), lognormal sigma 0.5 + 2 % slow "
    "4-8x, diurnal +-30 % over 15 min, 3x rate bursts of 2-6 s; errors 0.2 % + bursts on both "
    "backends (1-4 s at 2-10 %, ~every 10 min) + one-sided bursts (1-2 s at 1-5 %, ~every 30 min)."
)
FALSE_ROLLBACK_BUDGET = 0.01
HOLD_S = 60.0

# Anchor products' worst case from onset to rollback, from their documented defaults/examples.
ANCHORS: tuple[tuple[str, str, float], ...] = (
    ("Flagger, code defaults", "interval 60 s x threshold 1", 60.0 * 1),
    ("Flagger, tutorial config", "interval 1m x threshold 5", 60.0 * 5),
    ("Argo Rollouts, failureLimit default 0", "(0 + 1) x interval 5m (docs example)", 1 * 300.0),
    ("Argo Rollouts, docs example", "(failureLimit 3 + 1) x interval 5m", 4 * 300.0),
)


@dataclass(frozen=True)
class Scenario:
    """One row of trials: traffic, weight, what goes wrong, and the target."""

    label: str
    regression: Regression | None  #: None: a healthy step, timed to its promotion
    route_rps: float
    weight_bps: int
    target_s: float
    after_s: float  #: simulated time after the onset (or the step's start)
    power: float = 1.0  #: share of trials that must meet the target


def _busy(label: str, target_s: float, power: float = 1.0, **regression: Any) -> Scenario:
    """A regression at a 50 % step of 100 req/s: 50 candidate requests/s."""
    after_s = max(30.0, 2 * target_s)
    return Scenario(label, Regression(label, **regression), 100, 5000, target_s, after_s, power)


def _thin(route_rps: float, weight_bps: int) -> tuple[Scenario, Scenario]:
    """2 candidate requests/s: a healthy step (plan defaults) and a 2x latency regression."""
    where = f"2 req/s ({weight_bps / 100:g} % of {route_rps:g})"
    slower = Regression("2x", latency_factor=2.0)
    return (
        Scenario(f"{where}: healthy promotes", None, route_rps, weight_bps, HOLD_S + 300, 900),
        Scenario(f"{where}: 2x rolled back", slower, route_rps, weight_bps, 120, 300),
    )


SLOW_OP, FAILING_OP = 3, 4  # create_task and delete_task, 5 % of the traffic each
SLOW: dict[str, Any] = {"operation": SLOW_OP, "op_latency_factor": 3.0}
FAILING: dict[str, Any] = {"operation": FAILING_OP, "op_extra_error": 0.10}
SCENARIOS: tuple[Scenario, ...] = (
    _busy("p95 x2", 10, latency_factor=2.0),
    _busy("p95 +20 %", 60, 0.95, latency_factor=1.2),
    _busy("errors +5 points", 10, extra_error=0.05),
    _busy(f"{OPERATIONS[SLOW_OP].id} (5 %) 3x slower", 60, **SLOW),
    _busy(f"{OPERATIONS[FAILING_OP].id} (5 %) at 10 % errors", 30, **FAILING),
    _busy("candidate unreachable (issue #12's hard breach)", 2, unreachable=True),
    *_thin(20, 1000),
    *_thin(4, 5000),
)


def _job(kind: str, index: int, seed: int) -> tuple[str, int, dict[str, Any]]:
    if kind == "rollout":
        return kind, index, rollout(seed)
    s = SCENARIOS[index]
    out = trial(
        seed, s.regression, route_rps=s.route_rps, weight_bps=s.weight_bps, after_s=s.after_s
    )
    return kind, index, out


def _star(job: tuple[str, int, int]) -> tuple[str, int, dict[str, Any]]:
    return _job(*job)


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def _seconds(value: float | None, after_s: float) -> str:
    return f"> {after_s:g} s" if value is None else f"{value:.1f} s"


def _finite(value: float) -> float | None:
    """JSON has no infinity: a trial that never acted is ``None``."""
    return None if math.isinf(value) else round(value, 3)


def summarise_trials(s: Scenario, runs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """One analysis' column of a scenario: share within the target, p50/p95, what acted.

    A regression trial rolled back *before* its onset is a false rollback, not a detection: it is
    counted (``early``) and left out of the denominator, so this row measures power alone and the
    healthy-rollout row measures false rollbacks alone. A healthy step that rolled back is a miss.
    """
    healthy = s.regression is None
    key = "promoted_s" if healthy else "after_onset_s"
    times = [r[name][key] for r in runs]
    early = sum(t is not None and t < 0 for t in times)
    acted = [math.inf if t is None else float(t) for t in times if t is None or t >= 0]
    within = sum(t <= s.target_s for t in acted)
    rolled = sum(r[name].get("phase") == "rolled_back" for r in runs) if healthy else 0
    reasons = Counter(c for r in runs for c in r[name].get("reasons", ()))
    met = bool(acted) and within >= math.ceil(s.power * len(acted) - 1e-9)
    return {
        "trials": len(acted),
        "within_target": within,
        "early": early,
        "rolled_back": rolled,
        "met": met,
        "p50_s": _finite(_quantile(acted, 0.5)) if acted else None,
        "p95_s": _finite(_quantile(acted, 0.95)) if acted else None,
        "reasons": dict(reasons.most_common()),
    }


def summarise_rollouts(runs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """One analysis' healthy rollouts: false rollbacks (and why), time to complete."""
    mine = [r[name] for r in runs]
    rolled = [(r["seed"], r[name]) for r in runs if r[name]["phase"] == "rolled_back"]
    done = [m["end_s"] for m in mine if m["phase"] == "completed"]
    return {
        "rollouts": len(mine),
        "false_rollbacks": len(rolled),
        "met": len(rolled) <= FALSE_ROLLBACK_BUDGET * len(mine),
        "completed": len(done),
        "median_complete_s": _quantile(done, 0.5) if done else None,
        "p95_complete_s": _quantile(done, 0.95) if done else None,
        "by_step": dict(Counter(f"{(10, 50, 100)[o['step']]} %" for _, o in rolled)),
        "reasons": dict(Counter(c for _, o in rolled for c in o["reasons"]).most_common()),
        "causes": dict(Counter(o["cause"] for _, o in rolled).most_common()),
        "within_10s_of_promotion": sum(o["step"] > 0 and o["into_step_s"] <= 10 for _, o in rolled),
        "rolled_back": [
            {"seed": seed, **{k: o[k] for k in ("step", "into_step_s", "reasons", "cause")}}
            for seed, o in rolled
        ],
    }


def _row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _yes(met: bool) -> str:
    return "yes" if met else "NO"


def _false_cell(h: dict[str, Any]) -> str:
    share = h["false_rollbacks"] / max(1, h["rollouts"])
    text = f"{h['false_rollbacks']}/{h['rollouts']} ({share:.1%})"
    if h["false_rollbacks"]:
        text += ": " + ", ".join(f"{k} {v}" for k, v in h["reasons"].items())
        text += f"; {h['causes'].get(SHARED, 0)} in a {SHARED}"
    return text


def _complete_cell(h: dict[str, Any]) -> str:
    median = h["median_complete_s"]
    text = "-" if median is None else f"{median:.0f} s"
    return f"{text} ({h['completed']}/{h['rollouts']} completed)"


def _trial_cell(r: dict[str, Any], after_s: float) -> str:
    p50, p95 = _seconds(r["p50_s"], after_s), _seconds(r["p95_s"], after_s)
    text = f"{r['within_target']}/{r['trials']} in time, p50 {p50}, p95 {p95}"
    if r["early"]:
        text += f" ({r['early']} rolled back before the onset, left out)"
    if r["rolled_back"]:
        text += f" ({r['rolled_back']} rolled back)"
    return text


def render(results: dict[str, Any]) -> str:
    """The markdown table :func:`main` prints: one row per target, previous beside new."""
    names = list(ANALYSES)
    head = ["target"] + [c for a in names for c in (a, "met")]
    roll = results["healthy_rollouts"]
    rows = [
        ["false rollbacks, 10->50->100 % <= 1 %"]
        + [c for a in names for c in (_false_cell(roll[a]), _yes(roll[a]["met"]))],
        ["median time to complete a healthy rollout"]
        + [c for a in names for c in (_complete_cell(roll[a]), "-")],
    ]
    for row in results["scenarios"]:
        power = f" ({row['power']:.0%} power)" if row["power"] < 1 else ""
        rows.append(
            [f"{row['label']} <= {row['target_s']:g} s{power}"]
            + [c for a in names for c in (_trial_cell(row[a], row["after_s"]), _yes(row[a]["met"]))]
        )
    lines = [
        f"Whole rollouts through the real controller (interval {INTERVAL_S:g} s): "
        f"{results['rollouts']} healthy rollouts, {results['trials']} trials per other row; "
        "previous = windowed analysis, new = default",
        "",
        TRAFFIC,
        "",
        _row(head),
        _row(["---"] * len(head)),
        *(_row(cells) for cells in rows),
        "",
        _row(["anchor", "setting", "worst case to rollback"]),
        _row(["---"] * 3),
        *(_row([name, setting, f"{seconds:g} s"]) for name, setting, seconds in ANCHORS),
    ]
    return "\n".join(lines)


def run(
    rollouts: int, trials: int, workers: int, progress: Callable[[str], None]
) -> dict[str, Any]:
    """Every rollout and trial, spread over ``workers`` processes; the summaries."""
    jobs = [("rollout", 0, seed) for seed in range(rollouts)]
    for i in range(len(SCENARIOS)):
        jobs += [("trial", i, 1_000_000 * (i + 1) + seed) for seed in range(trials)]
    done: dict[tuple[str, int], list[dict[str, Any]]] = {}
    with ProcessPoolExecutor(max_workers=workers, initializer=quiet) as pool:
        for count, (kind, index, out) in enumerate(pool.map(_star, jobs, chunksize=8), 1):
            done.setdefault((kind, index), []).append(out)
            if count % 500 == 0:
                progress(f"{count}/{len(jobs)} runs")
    runs = done.get(("rollout", 0), [])
    scenarios = []
    for i, s in enumerate(SCENARIOS):
        mine = done.get(("trial", i), [])
        row = {k: v for k, v in s.__dict__.items() if k != "regression"}
        scenarios.append(row | {a: summarise_trials(s, mine, a) for a in ANALYSES})
    return {
        "rollouts": rollouts,
        "trials": trials,
        "interval_s": INTERVAL_S,
        "policies": {a: p.__dict__ for a, p in ANALYSES.items()},
        "healthy_rollouts": {a: summarise_rollouts(runs, a) for a in ANALYSES},
        "scenarios": scenarios,
        "anchors": [{"name": n, "setting": s, "worst_case_s": v} for n, s, v in ANCHORS],
    }


def main(argv: list[str] | None = None) -> int:
    """Run every row; 0 when the new analysis meets every target."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.rollback", description="Whole simulated rollouts (issue #14)."
    )
    parser.add_argument("--rollouts", type=int, default=1000, help="healthy whole rollouts")
    parser.add_argument("--trials", type=int, default=200, help="trials per scenario row")
    parser.add_argument("--workers", type=int, default=2, help="processes")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    saved = structlog.get_config()
    quiet()
    started = time.perf_counter()
    try:
        progress = partial(print, file=sys.stderr, flush=True)
        results = run(args.rollouts, args.trials, args.workers, progress)
    finally:
        structlog.configure(**saved)
    results["elapsed_s"] = round(time.perf_counter() - started, 1)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(render(results))
    print(f"\n(wrote {RESULTS}, {results['elapsed_s']} s)")
    met = results["healthy_rollouts"]["new"]["met"]
    return 0 if met and all(r["new"]["met"] for r in results["scenarios"]) else 1


if __name__ == "__main__":
    sys.exit(main())
