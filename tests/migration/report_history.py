"""A realistic fake migration for the report tests: a few hundred evaluations with a gap, a pause,
a promotion, a candidate fault with its rollback, and one baseline spike.

Times start at 2026-12-06 09:00:00 UTC, one evaluation every 2 s.
"""

from __future__ import annotations

import math

from migration.plan import Plan, Step
from migration.state import Event, MigrationState, Phase, Snapshot
from migration.testing import InMemoryStore

START = 1_796_547_600.0  # 2026-12-06T09:00:00Z
INTERVAL = 2.0
GAP = (700.0, 820.0)  # seconds after START with no evaluation (the gateway was down)
PLAN = Plan("tasks", (Step(1000), Step(5000), Step(10_000)))


def _event(at: float, kind: str, phase: Phase, step: int, bps: int, *why: str) -> Event:
    return Event("tasks", START + at, kind, phase, step, bps, why)


EVENTS = (
    _event(0, "started", Phase.RUNNING, 0, 1000, "started by admin:127.0.0.1: ramp tasks"),
    _event(240, "promoted", Phase.RUNNING, 1, 5000, "all checks passed for 240 s"),
    _event(400, "paused", Phase.PAUSED, 1, 5000, "paused by admin:127.0.0.1: deploy freeze"),
    _event(480, "resumed", Phase.RUNNING, 1, 5000, "resumed by admin:127.0.0.1"),
    _event(
        640,
        "rolled_back",
        Phase.ROLLED_BACK,
        1,
        0,
        "latency_p95: candidate 250.0 ms > threshold 60.0 ms (1200 samples)",
    ),
    _event(900, "weight_set", Phase.ROLLED_BACK, 1, 1000, "weight set by admin:127.0.0.1: retry"),
)


def _weight(t: float) -> int:
    if t < 240:
        return 1000
    if t < 640:
        return 5000
    return 0 if t < 900 else 1000


def snapshots() -> list[Snapshot]:
    """One snapshot per interval from START to START + 1000 s, none inside :data:`GAP`."""
    snaps = []
    for i in range(int(1000 / INTERVAL)):
        t = i * INTERVAL
        if GAP[0] <= t < GAP[1]:
            continue
        wobble = 0.004 * math.sin(t / 17)
        base_p95 = 0.045 + wobble + (1.8 if 300 <= t < 304 else 0.0)  # one baseline spike
        cand_p95 = 0.032 + wobble + (0.22 if 560 <= t < 640 else 0.0)  # the injected fault
        weight = _weight(t)
        checks = {
            "latency_p95[create_task]": {
                "status": "fail" if 560 <= t < 640 else "pass",
                "baseline": 0.05,
                "candidate": cand_p95 + 0.01,
                "threshold": 0.06,
            },
            "latency_p95[list_tasks]": {
                "status": "pass",
                "baseline": 0.04,
                "candidate": 0.03,
                "threshold": 0.05,
            },
        }
        snaps.append(
            Snapshot(
                "tasks",
                START + t,
                weight,
                "hold",
                base_p95,
                cand_p95 if weight else None,
                0.004 + (0.002 if 100 <= t < 130 else 0.0),
                0.03 if 600 <= t < 640 else 0.002,
                120,
                40,
                ("holding",),
                checks,
            )
        )
    return snaps


def store() -> InMemoryStore:
    """An in-memory store holding the whole fake migration."""
    result = InMemoryStore(max_snapshots=5000)
    state = MigrationState("tasks", PLAN, Phase.RUNNING, 0, 1000, START)
    pending = list(EVENTS)
    for snap in snapshots():
        due = [e for e in pending if e.at <= snap.at]
        pending = [e for e in pending if e.at > snap.at]
        if due:
            state = state.with_(phase=due[-1].phase, step_index=due[-1].step_index)
        result.commit(state.with_(weight_bps=snap.weight_bps), due, snap)
    result.commit(state, pending)
    return result
