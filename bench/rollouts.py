"""One simulated rollout (or one step) through the real controller, analysis and metrics.

:func:`replay` feeds a :class:`~bench.traffic.Tape` request by request into a fresh
:class:`~migration.metrics.MigrationMetrics` on a :class:`~migration.testing.FakeClock`, and steps
a real :class:`~migration.controller.MigrationController` every :data:`INTERVAL_S` of tape time.
The weight each evaluation leaves decides which backend serves the following requests, so a
controller that promotes early serves more of the tape from the candidate: that is the feedback a
real rollout has, and why two analyses read the same tape but not the same windows.

Failed candidate GETs are retried on the baseline, as the gateway's default ``fallback: both``
does, and the analysis sees that baseline attempt (a shared error burst fails it too; at 100 % it is
the hard error limit's only control).

The controller interval is **1 s** (the embedded config's; the default loop's is 5 s): the rollback
targets need it, and both analyses get the same.

The workers of :mod:`bench.rollback` call :func:`rollout` and :func:`trial`: plain functions of a
seed, picklable, returning plain dicts, so a process pool can run them.
"""

from __future__ import annotations

import itertools
import logging
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from bench.traffic import Burst, Regression, Tape, TrafficModel
from migration.analysis import Decision, Policy
from migration.controller import MigrationController
from migration.metrics import MigrationMetrics
from migration.plan import Plan, Step
from migration.state import Phase
from migration.testing import FakeClock, InMemoryStore, RecordingWeights

__all__ = [
    "ANALYSES",
    "INTERVAL_S",
    "ROLLOUT_PLAN",
    "ROUTE",
    "SHARED",
    "Outcome",
    "cause",
    "quiet",
    "replay",
    "rollout",
    "trial",
]

ROUTE = "api"
INTERVAL_S = 1.0
#: The tape's second 0 on the fake clock (any realistic epoch; window buckets are whole seconds).
EPOCH = 1_000_000.0
#: :func:`cause` of a rollback while both backends had an error burst.
SHARED = "shared error burst"
#: What each analysis is, by the name the table shows.
ANALYSES: dict[str, Policy] = {"previous": Policy(analysis="windowed"), "new": Policy()}
#: Issue #14's whole rollout: 10 -> 50 -> 100 %, the plan defaults (hold 60 s, 500 requests).
ROLLOUT_PLAN = Plan(ROUTE, (Step(1000), Step(5000), Step(10_000)))


def quiet() -> None:
    """Keep the controller's info events out of the output (thousands of simulated decisions)."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


@dataclass
class Outcome:
    """How a replay ended, in tape seconds."""

    phase: str  #: the route's phase at the end: completed, rolled_back, or running (time ran out)
    end_s: float
    promotions: list[float] = field(default_factory=list)  #: when each step was promoted
    reasons: list[str] = field(default_factory=list)  #: the failing checks of a rollback
    step_index: int = 0  #: the step the route was in (rolled back from) at the end
    evaluations: int = 0


def _hold_plan(weight_bps: int) -> Plan:
    """One step that never promotes within a trial: the regression has the step to itself."""
    return Plan(
        ROUTE, (Step(weight_bps, hold_s=86_400.0, min_requests=10**9, deadline_s=86_400.0),)
    )


#: Methods the gateway retries on the baseline after a failed candidate attempt (by default).
FALLBACK_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def replay(
    tape: Tape,
    plan: Plan,
    policy: Policy,
    until_s: float,
    regression: Regression | None = None,
    onset_s: float = math.inf,
) -> Outcome:
    """Run ``plan`` on ``tape`` until it completes, rolls back, or ``until_s`` passes."""
    clock = FakeClock(EPOCH)
    metrics = MigrationMetrics(clock)
    weights = RecordingWeights()
    controller = MigrationController(
        store=InMemoryStore(), source=metrics, weights=weights, policy=policy, clock=clock,
        interval_s=INTERVAL_S,
    )  # fmt: skip
    controller.start(plan)
    weight = weights.get_weight(ROUTE) / 10_000
    observe, outcome = metrics.observe, Outcome("running", until_s)
    ops = [op.id for op in tape.model.operations]
    # The gateway's default fallback (``fallback: both``): a failed idempotent candidate attempt is
    # retried once on the baseline, which the analysis sees as a baseline attempt on the same
    # request (at 100 % the hard error limit's only control).
    retried = [op.name.split(" ", 1)[0] in FALLBACK_METHODS for op in tape.model.operations]
    bad = regression or Regression("healthy")
    next_eval = INTERVAL_S
    for index in itertools.count():
        for t, op, pick, latency, draw, p_base, p_cand in tape.chunk(index):
            while t >= next_eval:
                if next_eval > until_s:
                    return outcome
                clock.now = EPOCH + next_eval
                for ev in controller.step():
                    outcome.evaluations += 1
                    if ev.verdict.decision is Decision.PROMOTE:
                        outcome.promotions.append(next_eval)
                    if ev.state.phase in (Phase.ROLLED_BACK, Phase.COMPLETED):
                        outcome.phase, outcome.end_s = ev.state.phase.value, next_eval
                        outcome.step_index = ev.state.step_index
                        outcome.reasons = sorted({c.name for c in ev.verdict.failed})
                        return outcome
                    outcome.step_index = ev.state.step_index
                weight = weights.get_weight(ROUTE) / 10_000
                next_eval += INTERVAL_S
            clock.now = EPOCH + t
            if pick >= weight:
                observe(ROUTE, "baseline", 500 if draw < p_base else 200, latency, None, ops[op])
                continue
            if t >= onset_s and bad.unreachable:
                observe(ROUTE, "candidate", 502, 0.001, "connect", ops[op])
                if retried[op]:
                    _fallback(observe, op, ops, latency, draw, p_base)
                continue
            if t >= onset_s:
                latency *= bad.latency_factor
                p_cand += bad.extra_error
                if op == bad.operation:
                    latency *= bad.op_latency_factor
                    p_cand += bad.op_extra_error
            failed = draw < p_cand
            observe(ROUTE, "candidate", 500 if failed else 200, latency, None, ops[op])
            if failed and retried[op]:
                _fallback(observe, op, ops, latency, draw, p_base)
    raise AssertionError("unreachable: the tape never ends")


def _fallback(
    observe: Callable[..., None],
    op: int,
    ops: list[str],
    latency: float,
    draw: float,
    p_base: float,
) -> None:
    """The baseline's attempt at a failed candidate request: it fails with the baseline's own rate
    at that moment (a second uniform draw, derived from the first so the tape stays the same)."""
    second = (draw * 1_000_003.0) % 1.0
    observe(ROUTE, "baseline", 500 if second < p_base else 200, latency, None, ops[op])


def rollout(seed: int, route_rps: float = 100.0, until_s: float = 1800.0) -> dict[str, Any]:
    """One healthy 10 -> 50 -> 100 % rollout per analysis, on the same tape.

    A rollback also says what the traffic was doing in the window before it (:func:`cause`) and
    how far into its step it came, which is what tells a noisy test from a shared incident.
    """
    tape = Tape(seed, TrafficModel(route_rps=route_rps), horizon_s=until_s)
    out: dict[str, Any] = {"seed": seed}
    for name, policy in ANALYSES.items():
        o = replay(tape, ROLLOUT_PLAN, policy, until_s)
        out[name] = {
            "phase": o.phase, "end_s": o.end_s, "step": o.step_index, "reasons": o.reasons,
            "promotions": o.promotions, "cause": cause(tape, o.end_s),
            "into_step_s": o.end_s - (o.promotions[-1] if o.promotions else 0.0),
        }  # fmt: skip
    return out


def cause(tape: Tape, t: float, lookback_s: float = 10.0) -> str:
    """The traffic event in the ``lookback_s`` before ``t`` (one analysis window), if any."""

    def near(b: Burst) -> bool:
        return b.start < t and b.end > t - lookback_s

    if any(near(b) and b.side == "both" for b in tape.error_bursts):
        return SHARED
    if any(near(b) and b.side == "candidate" for b in tape.error_bursts):
        return "candidate-side error burst"
    if any(near(b) for b in tape.rate_bursts):
        return "rate burst"
    return "none"


def trial(
    seed: int,
    regression: Regression | None,
    *,
    route_rps: float,
    weight_bps: int,
    after_s: float,
    warmup_s: tuple[float, float] = (30.0, 120.0),
) -> dict[str, Any]:
    """One step at ``weight_bps`` per analysis; the regression starts after a random warm-up.

    A healthy trial (``regression`` None) uses the plan defaults (hold 60 s, 500 requests) and
    reports when the step promotes; a regressed one holds the step and reports when it rolls back,
    counted from the onset (None: not within ``after_s``; a negative value: before the onset).
    """
    tape = Tape(seed, TrafficModel(route_rps=route_rps), horizon_s=warmup_s[1] + after_s)
    onset = random.Random(f"onset:{seed}").uniform(*warmup_s)
    out: dict[str, Any] = {"seed": seed, "onset_s": round(onset, 3)}
    for name, policy in ANALYSES.items():
        if regression is None:  # the step alone: its promotion completes the plan
            o = replay(tape, Plan(ROUTE, (Step(weight_bps),)), policy, after_s)
            done = o.phase == Phase.COMPLETED.value
            out[name] = {"promoted_s": o.end_s if done else None, "phase": o.phase,
                         "reasons": o.reasons}  # fmt: skip
            continue
        o = replay(tape, _hold_plan(weight_bps), policy, onset + after_s, regression, onset)
        rolled = o.phase == Phase.ROLLED_BACK.value
        out[name] = {"after_onset_s": round(o.end_s - onset, 3) if rolled else None,
                     "reasons": o.reasons}  # fmt: skip
    return out
