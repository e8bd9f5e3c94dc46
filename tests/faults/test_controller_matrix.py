"""The fault matrix's controller half: what the migration decides when one backend breaks mid-step.

For the eight cells of candidate / baseline x {killed, hung, slow, 5xx, reset mid-body} that
``test_hung_candidate.py`` (candidate hung) and ``test_broken_baseline.py`` (baseline killed) do not
already cover: a real ``cutover gateway`` process (controller every second, 4 s window, 30 samples)
over two upstream processes, a plan at its 50 % step, the demo's open-loop GET mix at 100 req/s,
then the fault on the real process (``kill -9``, ``SIGSTOP``, or ``SIGUSR1`` to a 600 ms / 503 /
reset-mid-body mode, :mod:`tests.faults.controller_support`). Each cell pins the decision, a bound
on the time from the fault to it, and the events:

* a broken candidate is rolled back — weight 0 in the gateway, one ``rolled_back`` event naming the
  failing check, no promotion;
* a broken baseline is a broken control — ``baseline_degraded`` once, held 1.5 s past the step's
  hold time (at least one evaluation that would have promoted), never promoted, never rolled back;
* a slow baseline is not a broken one and a faster candidate is not a regression: the step is
  promoted when its hold time is up, as with two healthy backends.

Client outcomes beside them are loose bounds (the exact ones are ``test_upstream_faults.py``'s).
Run with ``-s`` for one line per cell (the README's figures).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.faults.controller_support import Migration, break_upstream, migration

pytestmark = pytest.mark.integration

RPS = 100.0  # 50 candidate requests per second at the 50 % step
HOLD_S = 5  # a broken-baseline step must still be at 50 % past this (the fault lands at ~2 s)
PAST_S = 1.5  # at least one evaluation with the hold time over
SLOW = "slow:600"


@dataclass(frozen=True)
class Cell:
    """One row: which backend breaks, how, what the controller must do and how soon."""

    broken: str
    fault: str
    decision: str  # rolled_back | held | promoted
    checks: frozenset[str]  # rolled_back: one of these is named in the event
    within_s: float  # fault -> decision: the measured figure plus ~2 evaluations of margin
    statuses: frozenset[int]  # what clients may see (599: connection cut)

    @property
    def id(self) -> str:
        return f"{self.broken}-{self.fault.split(':')[0]}"


def _checks(*names: str) -> frozenset[str]:
    return frozenset(names)


OK, CUT_OK = frozenset({200}), frozenset({200, 599})
CELLS = [
    Cell("candidate", "killed", "rolled_back", _checks("unreachable", "error_rate_limit"), 3, OK),
    Cell("candidate", SLOW, "rolled_back", _checks("latency_p95", "latency_limit"), 5, OK),
    Cell("candidate", "5xx", "rolled_back", _checks("error_rate_limit"), 3, OK),
    Cell("candidate", "cut", "rolled_back", _checks("error_rate_limit"), 3, CUT_OK),
    Cell("baseline", "hung", "held", _checks(), 3, OK),
    # Promotion also needs non-inferiority shown (the plus-four bound): ~500 candidate samples at
    # 0 errors, promoted 9.0-10.0 s after the fault in three runs.
    Cell("baseline", SLOW, "promoted", _checks(), HOLD_S + 7, OK),
    Cell("baseline", "5xx", "held", _checks(), 3, frozenset({200, 503})),
    Cell("baseline", "cut", "held", _checks(), 3, CUT_OK),
]


def _kinds(events: list[dict[str, Any]]) -> list[str]:
    return [e["kind"] for e in events]


@pytest.mark.parametrize("cell", CELLS, ids=[c.id for c in CELLS])
async def test_controller_outcome(tmp_path: Path, cell: Cell) -> None:
    """The documented decision, within its bound, with the documented events."""
    hold = "10m" if cell.broken == "candidate" else f"{HOLD_S}s"
    plan = {"steps": [50, 100], "hold": hold, "min_requests": 10}
    async with migration(tmp_path, cell.broken, cell.fault, plan, RPS) as running:
        admin = running.admin
        started = time.monotonic()
        await admin.wait_view(
            lambda v: min(v["backends"][b]["samples"] for b in ("baseline", "candidate")) >= 30,
            "30 samples from each backend",
            20.0,
        )
        warm = time.monotonic() - started
        await running.just_after_tick()
        assert (await admin.view())["plan"]["step_index"] == 0, "promoted before the fault"
        break_upstream(running.upstreams[cell.broken], cell.fault)
        at = time.monotonic()
        took = await _decision(running, cell, at)
        if cell.decision == "held":  # never promoted, however long it has been held
            await running.until(
                _held_past(running, HOLD_S + PAST_S), "held past the hold time", at, 20.0
            )
        view = await admin.view()
        events = await running.events()
        live = await running.live_bps()
        stats = await running.stop_load()
    kinds = _kinds(events)
    rolled = [e for e in events if e["kind"] == "rolled_back"]
    named = {r.partition(":")[0] for e in rolled for r in e["reasons"]}
    longest = max(stats.latencies_s, default=0.0)
    print(
        f"\n{cell.id}: {cell.decision} {took:.2f} s after the fault (warm-up {warm:.1f} s); "
        f"live {live / 100:g} %; events {[k for k in kinds if not k.startswith('decision_')]}; "
        f"rolled back by {sorted(named)}; clients {dict(stats.statuses)} "
        f"from {dict(stats.backends)}, longest {longest:.2f} s"
    )
    assert took < cell.within_s
    assert set(stats.statuses) <= cell.statuses, stats.statuses
    if cell.decision == "rolled_back":
        assert (view["phase"], live) == ("rolled_back", 0)
        assert len(rolled) == 1, rolled
        assert named & cell.checks, rolled
        assert "promoted" not in kinds
    elif cell.decision == "held":
        assert (view["phase"], view["plan"]["step_index"], live) == ("running", 0, 5000)
        assert kinds.count("baseline_degraded") == 1
        assert not {"promoted", "rolled_back", "completed"} & set(kinds), kinds
    else:
        assert (view["plan"]["step_index"], live) == (1, 10_000)
        assert "promoted" in kinds
        assert not {"baseline_degraded", "rolled_back"} & set(kinds), kinds


async def _decision(running: Migration, cell: Cell, at: float) -> float:
    """Seconds from the fault to the cell's decision: weight 0, the condition, or the promotion."""
    admin, bound = running.admin, cell.within_s + 10  # fail on the bound, after seeing the figure

    if cell.decision == "rolled_back":

        async def done() -> bool:
            return await running.live_bps() == 0
    elif cell.decision == "held":

        async def done() -> bool:
            return "baseline_degraded" in (await admin.view())["conditions"]
    else:

        async def done() -> bool:
            return await running.live_bps() == 10_000

    return await running.until(done, cell.decision, at, bound)


def _held_past(running: Migration, seconds: float) -> Any:
    async def check() -> bool:
        plan = (await running.admin.view())["plan"]
        return bool(plan["held_s"] >= seconds or plan["step_index"] != 0)

    return check
