"""What each data-plane process decides alone, from its own windows, once a second.

* The ``auto`` fallback deadline of each route (issue #12, item 1) from this process' own baseline
  latency: the cut-off protects this process' clients, and needs no store.
* Fail-static hard breaches (issue #13, item 6): while the store is unreachable no controller can
  lower a weight for this process, so when its own evidence shows a *hard* breach of the candidate
  (unreachable, stuck, error rate past the hard limit — the checks that roll back at once on one
  process) it drops that route to the baseline itself, actor ``fail-static``. The change is kept in
  :attr:`ConfigFollower.local_changes` and published when the store returns, where the leader
  records it. It never raises a weight.

The analysis is the same pure :func:`~migration.analysis.analyse` the controller runs, so "hard"
means exactly what it means on one process.
"""

from __future__ import annotations

import structlog

from gateway.state import GatewayState
from migration.analysis import StepProgress, analyse, fallback_after_s
from migration.cluster.follower import ConfigFollower
from migration.cluster.weights import LOCAL_ACTOR
from migration.evidence import read_windows
from migration.policy import Policy
from migration.seams import InflightSource, WindowSource

__all__ = ["LocalGuard"]

log = structlog.get_logger("cutover.cluster")


class LocalGuard:
    """One process' own decisions: fallback deadlines always, hard-breach rollback when
    fail-static."""

    def __init__(
        self,
        state: GatewayState,
        follower: ConfigFollower,
        source: WindowSource,
        inflight: InflightSource | None,
        policy: Policy,
    ) -> None:
        self.state = state
        self.follower = follower
        self.source = source
        self.inflight = inflight
        self.policy = policy
        self.rollbacks = 0

    def tick(self) -> list[str]:
        """Publish local deadlines; when fail-static, roll back breached routes. Returns those."""
        dropped = []
        for route in self.state.route_names:
            base, cand = read_windows(self.source, self.inflight, route, self.policy)
            self.state.set_fallback_after(route, fallback_after_s(base, self.policy))
            weight = self.state.get_weight(route)
            if not self.follower.fail_static or weight == 0:
                continue
            progress = StepProgress(weight, 0.0, 0, 1.0, 1, 0)
            shadow = self.source.shadow(route, self.policy.window_s)
            verdict = analyse(progress, base, cand, shadow, self.policy)
            if not verdict.hard_breach:
                continue
            why = "; ".join(c.detail for c in verdict.failed if c.hard) or "hard breach"
            self.state.set_weight(route, 0, actor=LOCAL_ACTOR, reason=why)
            # after the weight is in force: keeping it may append to the local journal (fsync)
            self.follower.keep_local("weight", route, 0, f"hard breach while fail-static: {why}")
            self.rollbacks += 1
            dropped.append(route)
            log.error("local_rollback", route=route, old_bps=weight, reasons=why)
        return dropped
