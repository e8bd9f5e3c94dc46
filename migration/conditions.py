"""What currently stands in a route's way: the controller's per-route conditions.

A condition (``baseline_degraded``, ``candidate_stuck``, ``stalled``, ``share_mismatch``) is set
and cleared by each evaluation; :meth:`Conditions.set` says when that changed it, so the
controller records one event per episode rather than one per evaluation, and the metrics
(``DecisionMetrics.condition``) follow each change. Conditions live in the process: a new
leader's term starts them again (:meth:`Conditions.clear`).

:func:`check_share` is the one condition with its own check: the step's observed candidate share
against the weight the evidence was served at (:mod:`migration.share`).
"""

from __future__ import annotations

import structlog

from migration.analysis import Policy, StepWindows
from migration.decision_metrics import DecisionMetrics
from migration.recorder import Recorder
from migration.share import share_mismatch
from migration.state import MigrationState, Phase

__all__ = ["Conditions", "check_share"]

log = structlog.get_logger("cutover.migration")


class Conditions:
    """Per route: the names of the conditions currently set."""

    def __init__(self, metrics: DecisionMetrics | None = None) -> None:
        self.metrics = metrics
        self._held: dict[str, set[str]] = {}

    def of(self, route: str) -> list[str]:
        """What currently stands in a route's way (``baseline_degraded``, ``candidate_stuck``)."""
        return sorted(self._held.get(route, ()))

    def set(self, route: str, name: str, on: bool) -> bool:
        """Set or clear a condition; True when that changed it."""
        held = self._held.setdefault(route, set())
        if on == (name in held):
            return False
        held.add(name) if on else held.discard(name)
        if self.metrics is not None:
            self.metrics.condition(route, name, on)
        return True

    def clear(self) -> None:
        """Forget every route's conditions (a new leader's term)."""
        self._held.clear()


def check_share(
    conditions: Conditions,
    recorder: Recorder,
    policy: Policy,
    state: MigrationState,
    step: StepWindows | None,
    weight: int,
) -> MigrationState:
    """Warn, once per episode, when the step's observed candidate share is not ``weight`` (the
    one the evidence was served at: the plan's, or in a dry run the live one;
    :mod:`migration.share`); the condition clears when the share comes back or the step ends."""
    reason = None
    if step is not None and state.phase in (Phase.RUNNING, Phase.AWAITING_GATE):
        reason = share_mismatch(
            weight,
            step.baseline.requests,
            step.candidate.requests,
            policy.share_tolerance,
            policy.share_min_requests,
        )
    if not (conditions.set(state.route, "share_mismatch", reason is not None) and reason):
        return state
    assert step is not None
    log.warning("share_mismatch", route=state.route, reason=reason)
    total = step.baseline.requests + step.candidate.requests
    numbers = {"observed_share": round(step.candidate.requests / total, 4)}
    return recorder.commit(state, "share_mismatch", (reason,), numbers)
