"""The controller's book of each step's sequential evidence: kept, restored, saved and shown.

:class:`StepLedger` holds, per route, the :class:`~migration.step_evidence.StepEvidence` of the
current step (the route's and each of its operations'), the live A/A calibration
(:class:`~migration.calibration.Calibration`), and the saver
(:class:`~migration.evidence_saver.EvidenceSaver`) that writes it to the state store and reads it
back. The controller owns one and calls it through a narrow interface: :meth:`start` a step's
evidence (a new step, a resume), the step's :meth:`windows` for a state, :meth:`judged` then
:meth:`save` when :meth:`due` (and at shutdown), the :meth:`view` for ``GET /migration``, and
:meth:`forget` on a new leader's term. It decides nothing: the verdict stays the pure analysis',
the transitions the controller's. It was the controller's until that module passed 900 lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import structlog

from migration.analysis import Policy, StepWindows
from migration.buffered_store import BufferedStore
from migration.calibration import Calibration
from migration.decision_metrics import DecisionMetrics
from migration.evidence_saver import EvidenceSaver
from migration.operations import op_key
from migration.seams import Clock, WindowSource
from migration.state import MigrationState, Phase
from migration.step_evidence import OperationSource, SettledSource, StepEvidence

__all__ = ["StepLedger", "under_analysis"]

log = structlog.get_logger("cutover.migration")

_ANALYSED = (Phase.RUNNING, Phase.AWAITING_GATE, Phase.ROLLED_BACK)


def under_analysis(state: MigrationState) -> bool:
    """Under analysis: running, at a gate, or rolled back to a weight above 0 (step-down)."""
    return state.phase in _ANALYSED and not (
        state.phase is Phase.ROLLED_BACK and state.weight_bps == 0
    )


class StepLedger:
    """Per route: the current step's evidence, its calibration, and when it was saved/restored."""

    def __init__(
        self,
        *,
        store: BufferedStore,
        source: WindowSource,
        policy: Policy,
        clock: Clock,
        metrics: DecisionMetrics | None = None,
        save_every_s: float = 5.0,
    ) -> None:
        self.store = store
        self.source = source
        self.policy = policy
        self.clock = clock
        self._evidence: dict[str, StepEvidence] = {}
        self._aa = Calibration(metrics)
        self._saver = EvidenceSaver(store, clock, save_every_s, metrics)
        #: Each route's state after its last evaluation: what :meth:`save` saves for.
        self._judged: dict[str, MigrationState] = {}
        #: Per route whose step evidence was restored: when, from which save, how much.
        self._restored: dict[str, dict[str, Any]] = {}

    def held(self, route: str) -> dict[str, StepEvidence]:
        """``route``'s step evidence and its operations', by key."""
        prefix = op_key(route, "")
        return {k: e for k, e in self._evidence.items() if k == route or k.startswith(prefix)}

    def start(self, route: str) -> None:
        """Start ``route``'s step evidence (and its operations') now: a new step, a resume."""
        for key in self.held(route):
            del self._evidence[key]
        self._restored.pop(route, None)
        self._aa.new_step(route)
        self._pulled(route)
        if isinstance(self.source, OperationSource):  # each starts where the route's does
            for operation in self.source.operations(route):
                self._pulled(op_key(route, operation))

    def forget(self) -> None:
        """Drop every route's evidence (a new leader's term: what this process held may be
        older than the last leader's save); each resumes from its save at its next evaluation."""
        self._evidence.clear()

    def _pulled(self, key: str) -> StepWindows | None:
        """The evidence of ``key`` (a route or an operation) with what settled since the last
        pull."""
        if not isinstance(self.source, SettledSource):
            return None  # a source without settled buckets: the windowed analysis only
        evidence = self._evidence.get(key)
        if evidence is None:  # the first pull marks where the evidence starts
            evidence = self._evidence[key] = StepEvidence(self.policy.seq_restart_s)
            evidence.pull(self.source, key)
        evidence.pull(self.source, key)
        return StepWindows(
            evidence.baseline, evidence.candidate, evidence.restarts(), evidence.halves()
        )

    def windows(self, state: MigrationState) -> tuple[StepWindows | None, dict[str, StepWindows]]:
        """The step's evidence so far, the route's and each operation's."""
        route = state.route
        # A recovered step, or a new leader's: resumed from its last save, else from now on.
        fresh = route not in self._evidence and isinstance(self.source, SettledSource)
        if fresh and not self._restore(state):
            self.start(route)
        step = self._pulled(route)
        ops: dict[str, StepWindows] = {}
        if step is not None and isinstance(self.source, OperationSource):
            for operation in self.source.operations(route):
                found = self._pulled(op_key(route, operation))
                if found is not None:
                    ops[operation] = found
        return step, ops

    def _restore(self, state: MigrationState) -> bool:
        """Resume ``state``'s step evidence from its last save; False when there is none.

        The restored evidence is not pulled here: its first pull (in :meth:`_pulled`) only marks
        where counting resumes, so no bucket is added twice (:mod:`migration.step_evidence`).
        """
        route = state.route
        restored = self._saver.load(state)
        if restored is None:
            return False
        for key in self.held(route):
            del self._evidence[key]
        self._evidence.update(restored.evidence)
        self._aa.new_step(route)  # one trial of this process, with the alarms it had
        self._aa.observe(route, restored.aa_fired)
        now, requests = self.clock(), restored.evidence[route].candidate_requests
        self._restored[route] = {
            "restored_at": now,
            "saved_at": restored.saved_at,
            "candidate_requests": requests,
        }
        log.info(
            "step_evidence_restored",
            route=route,
            step=state.step_index,
            age_s=round(now - restored.saved_at, 3),
            candidate_requests=requests,
        )
        return True

    def observe(self, route: str, aa_alarms: Iterable[str]) -> None:
        """Count the A/A alarms of one evaluation of ``route`` (:class:`Calibration`)."""
        self._aa.observe(route, aa_alarms)

    def calibration(self, route: str) -> dict[str, Any]:
        """The live A/A calibration of ``route``'s harm checks (see :class:`Calibration`)."""
        budget = self.policy.false_rollback_budget / 2
        return self._aa.view(route, budget)

    def judged(self, states: Sequence[MigrationState]) -> None:
        """Note each route's state after this evaluation: what the next :meth:`save` saves for."""
        self._judged = {s.route: s for s in states}

    def due(self) -> bool:
        """Whether ``save_every_s`` has passed since the last save."""
        return self._saver.due()

    def save(self) -> None:
        """Save the step evidence of every route under analysis (every ``save_every_s`` after
        an evaluation's decisions, and at a clean shutdown); skipped while the store is failing.

        Never raises but for a refused fence (:mod:`migration.evidence_saver`).
        """
        self._saver.saved()
        if self.store.failing:
            return  # the outage is counted already; a save would only wait on it again
        for state in list(self._judged.values()):
            if not self.save_route(state):
                return  # a store that refused one would make each of the others wait too

    def save_route(self, state: MigrationState) -> bool:
        """Save ``state.route``'s evidence; False when the store refused it."""
        evidence = self.held(state.route)
        if under_analysis(state) and state.route in evidence:
            return self._saver.save(state, evidence, self._aa.fired(state.route))
        return True

    def view(self, route: str) -> dict[str, Any]:
        """``route``'s step evidence as this process holds it (the leader's, on a cluster).

        ``restored_at`` is set when the step's evidence was resumed from a save after a restart
        or a change of leader (with the save's time and the candidate requests it held).
        """
        evidence = self._evidence.get(route)
        restored = self._restored.get(route)
        return {
            "candidate_requests": None if evidence is None else evidence.candidate_requests,
            "baseline_requests": None if evidence is None else evidence.baseline.requests,
            "seconds": None if evidence is None else round(evidence.seconds, 3),
            "saved_at": self._saver.saved_at.get(route),
            "restored_at": None if restored is None else restored["restored_at"],
            "restored_from": None if restored is None else restored["saved_at"],
            "restored_candidate_requests": (
                None if restored is None else restored["candidate_requests"]
            ),
        }
