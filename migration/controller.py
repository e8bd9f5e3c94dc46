"""The migration controller: one evaluation per :meth:`MigrationController.step`, and operator actions.

``step()`` gathers each running route's window statistics, asks the pure
:func:`~migration.analysis.analyse` for a verdict, and acts: promote to the next step, wait at a gate,
hold, or roll back. Every transition is one store commit (state + events + snapshot) made *before*
the weight is pushed to the gateway, so the store is the truth; :meth:`recover` re-applies the stored
weights after a restart, and each ``step()`` re-applies a weight the gateway failed to take.

Gates: a step with ``gate: true`` waits, once healthy and held, in ``awaiting_gate`` for an operator's
``promote`` (the last step's gate approves completion). Analysis keeps running while it waits, so a
regression at a gate still rolls back.

Rollback sets the weight to 0 (``rollback_mode="zero"``, default) or to the previous step's weight
(``"step_down"``) and leaves the route ``rolled_back`` until an operator resumes, starts a new plan
or aborts. A rolled-back route still at a non-zero weight (step-down) stays under analysis, and a
further failure takes it to 0.

The default interval is 5 s. The rollback targets (hard breach within 2 s, soft regression within
10 s) need a 1 s interval; see ``bench/rollback.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import structlog

from migration.analysis import BackendWindow, Decision, Policy, StepProgress, Verdict, analyse
from migration.decision_metrics import DecisionMetrics
from migration.plan import Plan
from migration.seams import BASELINE, CANDIDATE, Clock, WeightControl, WindowSource
from migration.state import Event, MigrationState, Phase, Snapshot
from migration.store import StateStore

__all__ = ["Evaluation", "MigrationController", "MigrationError"]

log = structlog.get_logger("cutover.migration")

_ACTIVE = (Phase.RUNNING, Phase.PAUSED, Phase.AWAITING_GATE)
_ANALYSED = (Phase.RUNNING, Phase.AWAITING_GATE, Phase.ROLLED_BACK)


class MigrationError(Exception):
    """An operator action that does not apply to the route's current phase (maps to HTTP 409)."""


@dataclass(frozen=True)
class Evaluation:
    """What one ``step()`` did for one route."""

    route: str
    verdict: Verdict
    state: MigrationState


def _numbers(verdict: Verdict) -> dict[str, Any]:
    return {
        c.name: {
            "status": c.status.value,
            "candidate": c.candidate,
            "baseline": c.baseline,
            "threshold": c.threshold,
            "samples": c.samples,
            "baseline_samples": c.baseline_samples,
            "p_value": c.p_value,
        }
        for c in verdict.checks
    }


class MigrationController:
    """Drives every route's migration through its plan."""

    def __init__(
        self,
        *,
        store: StateStore,
        source: WindowSource,
        weights: WeightControl,
        policy: Policy | None = None,
        clock: Clock = time.time,
        metrics: DecisionMetrics | None = None,
        interval_s: float = 5.0,
        rollback_mode: Literal["zero", "step_down"] = "zero",
    ) -> None:
        if interval_s <= 0:
            raise ValueError(f"interval_s must be > 0, got {interval_s}")
        if rollback_mode not in ("zero", "step_down"):
            raise ValueError(f"rollback_mode must be 'zero' or 'step_down', got {rollback_mode!r}")
        self.store = store
        self.source = source
        self.weights = weights
        self.policy = policy or Policy()
        self.clock = clock
        self.metrics = metrics
        self.interval_s = interval_s
        self.rollback_mode = rollback_mode
        self._applied: dict[str, int] = {}
        self._seen: dict[str, tuple[int, int]] = {}

    # -- plumbing ---------------------------------------------------------------------------------

    def _apply(self, state: MigrationState) -> None:
        if self._applied.get(state.route) == state.weight_bps:
            return
        try:
            self.weights.set_weight(state.route, state.weight_bps)
        except Exception:
            log.exception("set_weight failed; retrying next step", route=state.route)
            return
        self._applied[state.route] = state.weight_bps

    def _counters(self, route: str) -> tuple[int, int]:
        return (self.source.total_requests(route, CANDIDATE), self.source.total_shadow(route))

    def _commit(
        self,
        state: MigrationState,
        kind: str | None,
        reasons: Sequence[str] = (),
        numbers: dict[str, Any] | None = None,
        snapshot: Snapshot | None = None,
    ) -> MigrationState:
        now = self.clock()
        state = state.with_(updated_at=now)
        events: tuple[Event, ...] = ()
        if kind is not None:
            event = Event(
                state.route, now, kind, state.phase, state.step_index, state.weight_bps,
                tuple(reasons), numbers or {},
            )  # fmt: skip
            events = (event,)
            log.info(
                "migration event", route=state.route, kind=kind, phase=state.phase.value,
                step=state.step_index, weight_bps=state.weight_bps, reasons=list(reasons),
            )  # fmt: skip
        self.store.commit(state, events, snapshot)
        self._apply(state)
        if self.metrics is not None:
            self.metrics.state(state)
        return state

    def _enter_step(self, state: MigrationState, index: int, phase: Phase) -> MigrationState:
        now = self.clock()
        self._seen[state.route] = self._counters(state.route)
        return state.with_(
            phase=phase,
            step_index=index,
            weight_bps=state.plan.steps[index].weight_bps,
            step_started_at=now,
            held_before_s=0.0,
            running_since=now if phase is Phase.RUNNING else None,
            step_requests=0,
            consecutive_failures=0,
            last_decision="",
        )

    def _require(self, route: str, *phases: Phase) -> MigrationState:
        state = self.store.load(route)
        if state is None:
            raise MigrationError(f"route {route!r} has no migration; start a plan first")
        if phases and state.phase not in phases:
            allowed = ", ".join(p.value for p in phases)
            raise MigrationError(
                f"route {route!r} is {state.phase.value}; this action needs {allowed}"
            )
        return state

    # -- operator actions -------------------------------------------------------------------------

    def recover(self) -> list[MigrationState]:
        """Push every stored weight to the gateway (call once at start-up, before traffic).

        A running step's hold resumes from its last commit: downtime is not observation time.
        """
        states = []
        for state in self.store.load_all():
            if state.running_since is not None:
                state = state.with_(
                    held_before_s=state.held_s(state.updated_at), running_since=self.clock()
                )
                self.store.commit(state)
            states.append(state)
            self._applied.pop(state.route, None)
            self._apply(state)
            if self.metrics is not None:
                self.metrics.state(state)
        return states

    def status(self, route: str) -> MigrationState | None:
        """The stored state of ``route``."""
        return self.store.load(route)

    def start(self, plan: Plan) -> MigrationState:
        """Begin ``plan`` at its first step (refused while another plan is active)."""
        current = self.store.load(plan.route)
        if current is not None and current.phase in _ACTIVE:
            raise MigrationError(
                f"route {plan.route!r} is {current.phase.value}; abort it before starting anew"
            )
        now = self.clock()
        fresh = MigrationState(plan.route, plan, Phase.PENDING, 0, 0, now)
        state = self._enter_step(fresh, 0, Phase.RUNNING)
        return self._commit(state, "started", (f"plan {[s.describe() for s in plan.steps]}",))

    def promote(self, route: str, reason: str = "operator") -> MigrationState:
        """Pass a gate or force the next step now (skipping the rest of the hold)."""
        state = self._require(route, Phase.RUNNING, Phase.AWAITING_GATE)
        return self._advance(state, (f"promoted by {reason}",), None)

    def pause(self, route: str) -> MigrationState:
        """Stop analysis and the hold clock; the weight stays where it is."""
        state = self._require(route, Phase.RUNNING, Phase.AWAITING_GATE)
        now = self.clock()
        paused = state.with_(
            phase=Phase.PAUSED, held_before_s=state.held_s(now), running_since=None
        )
        return self._commit(paused, "paused", ("paused by operator",))

    def resume(self, route: str) -> MigrationState:
        """Resume a paused migration, or retry the step a rollback left."""
        state = self._require(route, Phase.PAUSED, Phase.ROLLED_BACK)
        if state.phase is Phase.ROLLED_BACK:
            retried = self._enter_step(state, state.step_index, Phase.RUNNING)
            return self._commit(retried, "resumed", ("retrying the step after a rollback",))
        self._seen[route] = self._counters(route)  # requests during the pause do not count
        resumed = state.with_(
            phase=Phase.RUNNING, running_since=self.clock(), consecutive_failures=0
        )
        return self._commit(resumed, "resumed", ("resumed by operator",))

    def rollback(self, route: str, reason: str = "manual") -> MigrationState:
        """Roll back now, as an automatic rollback would."""
        state = self._require(route, Phase.RUNNING, Phase.PAUSED, Phase.AWAITING_GATE)
        return self._roll_back(state, (f"manual rollback by operator: {reason}",), ["manual"], {})

    def abort(self, route: str) -> MigrationState:
        """End the migration with the candidate at 0 %."""
        state = self._require(route)
        if state.phase.finished:
            raise MigrationError(f"route {route!r} is already {state.phase.value}")
        aborted = state.with_(phase=Phase.ABORTED, weight_bps=0, running_since=None)
        if self.metrics is not None and state.weight_bps > 0:
            self.metrics.rolled_back(route, ["abort"])
        return self._commit(aborted, "aborted", ("aborted by operator",))

    # -- transitions ------------------------------------------------------------------------------

    def _advance(
        self,
        state: MigrationState,
        reasons: Sequence[str],
        numbers: dict[str, Any] | None,
        snapshot: Snapshot | None = None,
    ) -> MigrationState:
        if self.metrics is not None:
            self.metrics.promoted(state.route)
        last = state.step_index + 1 >= len(state.plan.steps)
        if last:
            done = state.with_(phase=Phase.COMPLETED, running_since=None)
            return self._commit(done, "completed", reasons, numbers, snapshot)
        moved = self._enter_step(state, state.step_index + 1, Phase.RUNNING)
        return self._commit(moved, "promoted", reasons, numbers, snapshot)

    def _roll_back(
        self,
        state: MigrationState,
        reasons: Sequence[str],
        labels: Sequence[str],
        numbers: dict[str, Any],
        snapshot: Snapshot | None = None,
    ) -> MigrationState:
        index, weight = state.step_index, 0
        if self.rollback_mode == "step_down" and state.phase is not Phase.ROLLED_BACK:
            index = max(0, state.step_index - 1)
            weight = state.plan.steps[index].weight_bps if state.step_index > 0 else 0
        rolled = state.with_(
            phase=Phase.ROLLED_BACK,
            step_index=index,
            weight_bps=weight,
            running_since=None,
            consecutive_failures=0,
        )
        if self.metrics is not None:
            self.metrics.rolled_back(state.route, labels)
        return self._commit(rolled, "rolled_back", reasons, numbers, snapshot)

    # -- the evaluation ---------------------------------------------------------------------------

    def step(self) -> list[Evaluation]:
        """Evaluate every route under analysis once, and act on the verdicts."""
        results = []
        for state in self.store.load_all():
            self._apply(state)
            if state.phase in _ANALYSED and not (
                state.phase is Phase.ROLLED_BACK and state.weight_bps == 0
            ):
                results.append(self._evaluate(state))
        return results

    def _evaluate(self, state: MigrationState) -> Evaluation:
        route, now, span = state.route, self.clock(), self.policy.window_s
        cand_total, shadow_total = self._counters(route)
        seen = self._seen.get(route, (0, 0))
        counted = shadow_total if state.step.shadow_only else cand_total
        before = seen[1] if state.step.shadow_only else seen[0]
        delta = counted - before if counted >= before else counted
        self._seen[route] = (cand_total, shadow_total)
        state = state.with_(step_requests=state.step_requests + delta)

        windows = {b: self.source.window(route, b, span) for b in (BASELINE, CANDIDATE)}
        recent_n, recent_connect = self.source.recent_attempts(route, CANDIDATE)
        baseline = BackendWindow(
            windows[BASELINE].requests, windows[BASELINE].errors, windows[BASELINE].latency,
            contract=self.source.contract(route, BASELINE, span),
        )  # fmt: skip
        candidate = BackendWindow(
            windows[CANDIDATE].requests, windows[CANDIDATE].errors, windows[CANDIDATE].latency,
            recent_n, recent_connect, self.source.contract(route, CANDIDATE, span),
        )  # fmt: skip
        progress = StepProgress(
            state.weight_bps, state.held_s(now), state.step_requests, state.step.hold_s,
            state.step.min_requests, state.consecutive_failures,
        )  # fmt: skip
        verdict = analyse(
            progress, baseline, candidate, self.source.shadow(route, span), self.policy
        )
        if self.metrics is not None:
            self.metrics.verdict(route, verdict, baseline.requests, candidate.requests)
        snapshot = Snapshot(
            route, now, state.weight_bps, verdict.decision.value,
            baseline.p95(), candidate.p95(), windows[BASELINE].error_rate,
            windows[CANDIDATE].error_rate, baseline.requests, candidate.requests,
        )  # fmt: skip
        numbers = _numbers(verdict)
        decision = verdict.decision
        state = state.with_(consecutive_failures=verdict.consecutive_failures)

        if decision is Decision.ROLLBACK:
            labels = [c.name for c in verdict.failed]
            state = self._roll_back(state, verdict.reasons, labels, numbers, snapshot)
        elif state.phase is Phase.RUNNING and decision is Decision.PROMOTE:
            if state.step.gate:
                gated = state.with_(
                    phase=Phase.AWAITING_GATE,
                    held_before_s=state.held_s(now),
                    running_since=None,
                    last_decision=decision.value,
                )
                reasons = (*verdict.reasons, "gate: waiting for an operator to promote")
                state = self._commit(gated, "awaiting_gate", reasons, numbers, snapshot)
            else:
                state = self._advance(state, verdict.reasons, numbers, snapshot)
        else:
            changed = decision.value != state.last_decision or bool(verdict.failed)
            state = state.with_(last_decision=decision.value)
            kind = f"decision_{decision.value}" if changed else None
            state = self._commit(state, kind, verdict.reasons, numbers, snapshot)
        return Evaluation(route, verdict, state)

    async def run(self, stop: asyncio.Event) -> None:
        """Call :meth:`step` every ``interval_s`` until ``stop`` is set.

        ``step()`` runs on the event loop on purpose: it reads the windows the gateway writes from
        the same loop (no locks needed), and costs ~3 ms per route including the SQLite commit.
        A failing step is logged and the loop goes on; the gateway spawns this coroutine through
        its named-task helper.
        """
        while not stop.is_set():
            try:
                self.step()
            except Exception:
                log.exception("migration step failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval_s)
