"""Live A/A calibration: how often each harm check fires on the baseline against itself.

Every evaluation also runs the route's sequential harm tests on the baseline's step evidence
split into two interleaved halves (:func:`~migration.step_checks.aa_alarms`). Nothing differs
between the halves but chance, so a firing is a false alarm on this route's own traffic — its
bursts, heavy tails and rate swings, which no simulation knows. A sequential test that crosses
stays crossed, so alarms are counted once per step and check: over ``steps`` steps, ``alarms /
steps`` is the check's observed false-alarm rate per step, to set beside its budget.

Shown in ``GET /migration`` (``calibration``) and on ``/metrics``
(``cutover_analysis_aa_steps_total{route}``, ``cutover_analysis_aa_alarms_total{route,check}``).
The counts live in the process (a restart or a new leader starts them again); which checks
fired in the current step is saved with the step's evidence, so a step resumed after a restart
(:mod:`migration.evidence_saver`) counts as one trial of this process with the alarms it had.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from migration.decision_metrics import DecisionMetrics

__all__ = ["Calibration"]


class Calibration:
    """Per route: steps observed, and per harm check the steps in which its A/A pair fired."""

    def __init__(self, metrics: DecisionMetrics | None = None) -> None:
        self.metrics = metrics
        self._steps: dict[str, int] = {}
        self._alarms: dict[str, dict[str, int]] = {}
        self._fired: dict[str, set[str]] = {}

    def new_step(self, route: str) -> None:
        """A step (or a resumed one) starts its evidence afresh: one more A/A trial."""
        self._steps[route] = self._steps.get(route, 0) + 1
        self._fired[route] = set()
        if self.metrics is not None:
            self.metrics.aa_step(route)

    def fired(self, route: str) -> tuple[str, ...]:
        """The checks whose A/A pair fired in ``route``'s current step."""
        return tuple(sorted(self._fired.get(route, ())))

    def observe(self, route: str, alarms: Iterable[str]) -> None:
        """One evaluation's A/A firings; each check counts once per step."""
        fired = self._fired.setdefault(route, set())
        for check in alarms:
            if check in fired:
                continue
            fired.add(check)
            counts = self._alarms.setdefault(route, {})
            counts[check] = counts.get(check, 0) + 1
            if self.metrics is not None:
                self.metrics.aa_alarm(route, check)

    def view(self, route: str, budget: float) -> dict[str, Any]:
        """``{"steps", "alarms": {check: n}, "rate": {check: n / steps}, "budget"}``."""
        steps = self._steps.get(route, 0)
        alarms = dict(sorted(self._alarms.get(route, {}).items()))
        rates = {check: n / steps for check, n in alarms.items()} if steps else {}
        return {"steps": steps, "alarms": alarms, "rate": rates, "budget_per_check": budget}
