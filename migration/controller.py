"""The migration controller: one evaluation per :meth:`MigrationController.step`, and operator
actions.

``step()`` gathers each running route's window statistics (and the attempts still in flight), asks
the pure :func:`~migration.analysis.analyse` for a verdict, and acts: promote to the next step, wait
at a gate, hold, or roll back. Every transition is one store commit (state + events + snapshot),
made by the :class:`~migration.recorder.Recorder`; the step's sequential evidence is kept by the
:class:`~migration.step_ledger.StepLedger`.

The safe direction never waits for the disk (issue #12, item 2; :mod:`migration.recorder`): a change
that lowers or keeps the weight (rollback, step-down, abort, hold) is applied to the gateway *first*
and then written through :class:`~migration.buffered_store.BufferedStore`, which keeps a failed
write and retries it every tick. A change that raises the weight (promotion, start, resume) is
written first and applied only once durable, and is refused while the store is failing
(:class:`MigrationError` for an operator, a hold for the analysis): a promotion whose record could
be lost would come back as a lower weight after a restart. :meth:`recover` re-applies the stored
weights after a restart, and each ``step()`` re-applies the stored weight of every route whose live
weight differs (a weight the gateway failed to take, a restart, a change that bypassed the
listener).

Operator actions (issue #15, item 3): start, promote, pause, resume, rollback and abort each take
the acting ``actor`` (the admin API passes ``admin:<client address>``) and an optional ``reason``;
the event's reasons say ``"<action> by <actor>: <reason>"`` and its numbers carry both.

Manual weights (item 4): a weight change made by anybody but the controller is recorded, and pauses
an active migration, by :class:`~migration.manual_weights.ManualWeights` (``manual_weights``).

A broken control (item 3): while the analysis finds the baseline degraded the step holds, with one
``baseline_degraded`` event per episode (and ``baseline_recovered`` at its end). While candidate
attempts are in flight past the latency limit, the hold clock does not run.

Gates (issue #15 item 2): a step with ``gate: true`` is entered only by an operator's ``promote``.
Once the step before it is healthy and held, the route waits in ``awaiting_gate`` at that step's
weight, so ``--gates 100`` waits *before* the weight reaches 100 %, as an Argo Rollouts ``pause``
step before a ``setWeight`` would. A gate on the first step is passed by ``start`` itself. Analysis
keeps running while it waits, so a regression at a gate still rolls back.

Rollback sets the weight to 0 (``rollback_mode="zero"``, default) or to the previous step's weight
(``"step_down"``) and leaves the route ``rolled_back`` until an operator resumes, starts a new plan
or aborts. A rolled-back route still at a non-zero weight (step-down) stays under analysis, and a
further failure takes it to 0.

Notifications and hooks (issue #15): every committed event goes to the ``sinks``
(:class:`~migration.seams.EventSink`: the notifier, the post-rollback hook) after it is recorded; a
promotion the analysis would make on its own first asks the ``gate``
(:class:`~migration.seams.PromotionGate`, the pre-promotion hook); how a promotion is held, by the
hook or by a failing store, is :mod:`migration.promotion_holds`. An operator's ``promote`` (a gate,
a forced step) is a human decision and does not ask it; rollbacks never ask anything.

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

from migration.analysis import (
    BackendWindow,
    Decision,
    Policy,
    StepProgress,
    Verdict,
    analyse,
    fallback_after_s,
)
from migration.buffered_store import BufferedStore, StoreUnavailable
from migration.conditions import Conditions, check_share
from migration.decision_metrics import DecisionMetrics
from migration.evidence import read_windows
from migration.history import migration_id
from migration.manual_weights import ManualWeights
from migration.plan import Plan
from migration.promotion_holds import ask_gate, held_by_gate, refused
from migration.recorder import ACTOR as ACTOR  # named here by migration/cluster/weights.py
from migration.recorder import Recorder
from migration.seams import (
    CANDIDATE,
    Clock,
    EventSink,
    FallbackDeadlines,
    InflightSource,
    PromotionGate,
    WeightControl,
    WindowSource,
)
from migration.stall import is_stalled, stall_reasons
from migration.state import MigrationState, Phase, Snapshot
from migration.step_ledger import StepLedger, under_analysis
from migration.store import StateStore

__all__ = ["Evaluation", "MigrationController", "MigrationError"]

log = structlog.get_logger("cutover.migration")

#: The actor of an operator action when the caller names none (the admin API names its client).
OPERATOR = "operator"


def _steered(states: Sequence[MigrationState]) -> set[str]:
    """Routes whose weight their migration sets (a dry run's stays the operator's)."""
    return {s.route for s in states if not s.dry_run}


class MigrationError(Exception):
    """An operator action that does not apply to the route's current phase (maps to HTTP 409)."""


@dataclass(frozen=True)
class Evaluation:
    """What one ``step()`` did for one route."""

    route: str
    verdict: Verdict
    state: MigrationState


def _rate(window: BackendWindow) -> float | None:
    return window.errors / window.requests if window.requests else None


def _numbers(verdict: Verdict) -> dict[str, Any]:
    return {
        c.label: {
            "status": c.status.value,
            "candidate": c.candidate,
            "baseline": c.baseline,
            "threshold": c.threshold,
            "samples": c.samples,
            "baseline_samples": c.baseline_samples,
            "p_value": c.p_value,
            "detail": c.detail,
        }
        for c in verdict.checks
    }


def _by(verb: str, actor: str, reason: str | None) -> tuple[str, dict[str, Any]]:
    """An operator action's reason line (``"paused by admin:10.0.0.7: deploy freeze"``) and numbers.

    Every action records who acted and why (issue #15, item 3): the line reads in the event
    history, the numbers (``{"actor", "reason"}``) are for scripts and the report.
    """
    line = f"{verb} by {actor}: {reason}" if reason else f"{verb} by {actor}"
    return line, {"actor": actor, "reason": reason}


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
        inflight: InflightSource | None = None,
        deadlines: FallbackDeadlines | None = None,
        sinks: Sequence[EventSink] = (),
        gate: PromotionGate | None = None,
        evidence_save_s: float = 5.0,
    ) -> None:
        if interval_s <= 0:
            raise ValueError(f"interval_s must be > 0, got {interval_s}")
        if rollback_mode not in ("zero", "step_down"):
            raise ValueError(f"rollback_mode must be 'zero' or 'step_down', got {rollback_mode!r}")
        self.store = store if isinstance(store, BufferedStore) else BufferedStore(store, clock)
        self.source = source
        self.inflight = inflight
        self.deadlines = deadlines
        self.weights = weights
        self.policy = policy or Policy()
        self.clock = clock
        self.metrics = metrics
        self.interval_s = interval_s
        self.rollback_mode = rollback_mode
        self.gate = gate
        #: Every commit and weight change goes through it (:mod:`migration.recorder`).
        self.recorder = Recorder(
            store=self.store, weights=weights, clock=clock, metrics=metrics, sinks=sinks
        )
        #: The gateway's weight changes go here (:mod:`migration.manual_weights`).
        self.manual_weights = ManualWeights(self.recorder)
        self._seen: dict[str, tuple[int, int]] = {}
        self._conditions = Conditions(metrics)
        #: Each step's sequential evidence, calibration and saves (:mod:`migration.step_ledger`).
        self.ledger = StepLedger(
            store=self.store,
            source=source,
            policy=self.policy,
            clock=clock,
            metrics=metrics,
            save_every_s=evidence_save_s,
        )

    # -- plumbing ---------------------------------------------------------------------------------

    def conditions(self, route: str) -> list[str]:
        """What currently stands in a route's way (``baseline_degraded``, ``candidate_stuck``)."""
        return self._conditions.of(route)

    def _refuse_raise(self, route: str, what: str) -> None:
        if self.store.failing:
            raise MigrationError(
                f"route {route!r}: {what} refused while the state store is failing "
                f"({self.store.last_error}); rollbacks and pauses still work"
            )

    def _counters(self, route: str) -> tuple[int, int]:
        return (self.source.total_requests(route, CANDIDATE), self.source.total_shadow(route))

    def note(self, route: str, kind: str, reasons: Sequence[str], numbers: dict[str, Any]) -> None:
        """Record an event that changes nothing (a post-rollback hook's outcome) at the route's
        state."""
        state = self.store.load(route)
        if state is not None:
            self.recorder.commit(state, kind, reasons, numbers, applied=True)

    def _enter_step(self, state: MigrationState, index: int, phase: Phase) -> MigrationState:
        now = self.clock()
        self._seen[state.route] = self._counters(state.route)
        self.ledger.start(state.route)
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

    def begin_term(self) -> list[MigrationState]:
        """Take over as a cluster's leader: forget the last term's counters, then :meth:`recover`.

        Step progress counts requests from this term's first evaluation on (the stored
        ``step_requests`` carries what earlier leaders counted); the sequential tests' step
        evidence resumes from the last leader's save at each route's first evaluation
        (:meth:`migration.step_ledger.StepLedger.windows`; a gap in it is valid evidence,
        :mod:`migration.step_evidence`).
        """
        self._conditions.clear()
        self.ledger.forget()  # what this process held may be older than the last leader's save
        states = self.recover()
        self._seen = {s.route: self._counters(s.route) for s in states}
        return states

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
            if not state.dry_run:
                self.recorder.apply(state.route, state.weight_bps)
            if self.metrics is not None:
                self.metrics.state(state)
        self.recorder.apply_manual(_steered(states))
        return states

    def status(self, route: str) -> MigrationState | None:
        """The stored state of ``route``."""
        return self.store.load(route)

    def start(
        self,
        plan: Plan,
        *,
        actor: str = OPERATOR,
        reason: str | None = None,
        dry_run: bool = False,
    ) -> MigrationState:
        """Begin ``plan`` at its first step (refused while another plan is active).

        ``dry_run``: analysis only — every evaluation, verdict and transition is recorded as usual
        (events marked ``[dry run]``), but no weight is ever changed; the analysis judges the
        traffic at the live weight, which stays the operator's (Argo Rollouts' dry-run analysis).
        """
        current = self.store.load(plan.route)
        if current is not None and current.phase.active:
            raise MigrationError(
                f"route {plan.route!r} is {current.phase.value}; abort it before starting anew"
            )
        self._refuse_raise(plan.route, "starting a plan")
        now = self.clock()
        ident = migration_id(plan.route, now, current.migration_id if current else "")
        fresh = MigrationState(
            plan.route, plan, Phase.PENDING, 0, 0, now, migration_id=ident, dry_run=dry_run
        )
        state = self._enter_step(fresh, 0, Phase.RUNNING)
        why, numbers = _by("started", actor, reason)
        steps = f"plan {[s.describe() for s in plan.steps]}"
        return self._durably(state, "started", (why, steps), numbers)

    def _durably(
        self,
        state: MigrationState,
        kind: str,
        reasons: Sequence[str],
        numbers: dict[str, Any] | None = None,
    ) -> MigrationState:
        """An operator's transition that may raise the weight: refused if it cannot be recorded."""
        try:
            return self.recorder.commit(state, kind, reasons, numbers)
        except StoreUnavailable as exc:
            raise MigrationError(
                f"route {state.route!r}: {kind} refused, the state store is failing ({exc})"
            ) from None

    def promote(
        self, route: str, reason: str | None = None, *, actor: str = OPERATOR
    ) -> MigrationState:
        """Pass a gate or force the next step now (skipping the rest of the hold)."""
        state = self._require(route, Phase.RUNNING, Phase.AWAITING_GATE)
        self._refuse_raise(route, "promotion")
        why, numbers = _by("promoted", actor, reason)
        try:
            return self._advance(state, (why,), numbers)
        except StoreUnavailable as exc:
            raise MigrationError(f"route {route!r}: promotion refused ({exc})") from None

    def pause(
        self, route: str, *, actor: str = OPERATOR, reason: str | None = None
    ) -> MigrationState:
        """Stop analysis and the hold clock; the weight stays where it is."""
        state = self._require(route, Phase.RUNNING, Phase.AWAITING_GATE)
        now = self.clock()
        paused = state.with_(
            phase=Phase.PAUSED, held_before_s=state.held_s(now), running_since=None
        )
        why, numbers = _by("paused", actor, reason)
        return self.recorder.commit(paused, "paused", (why,), numbers)

    def resume(
        self, route: str, *, actor: str = OPERATOR, reason: str | None = None
    ) -> MigrationState:
        """Resume a paused migration (at the plan's weight), or retry the step a rollback left."""
        state = self._require(route, Phase.PAUSED, Phase.ROLLED_BACK)
        self._refuse_raise(route, "resuming")
        why, numbers = _by("resumed", actor, reason)
        if state.phase is Phase.ROLLED_BACK:
            retried = self._enter_step(state, state.step_index, Phase.RUNNING)
            reasons = (why, "retrying the step after a rollback")
            return self._durably(retried, "resumed", reasons, numbers)
        self._seen[route] = self._counters(route)  # requests during the pause do not count
        self.ledger.start(route)  # nor does their evidence (the weight may have differed)
        resumed = state.with_(
            phase=Phase.RUNNING,
            running_since=self.clock(),
            consecutive_failures=0,
            weight_bps=state.step.weight_bps,  # undoes a manual override
        )
        resumed = self._durably(resumed, "resumed", (why,), numbers)
        self.ledger.save_route(
            resumed
        )  # same step: the saved pre-pause evidence must not come back
        return resumed

    def rollback(
        self, route: str, reason: str | None = None, *, actor: str = OPERATOR
    ) -> MigrationState:
        """Roll back now, as an automatic rollback would."""
        state = self._require(route, Phase.RUNNING, Phase.PAUSED, Phase.AWAITING_GATE)
        why, numbers = _by("manual rollback", actor, reason)
        return self._roll_back(state, (why,), ["manual"], numbers)

    def abort(
        self, route: str, *, actor: str = OPERATOR, reason: str | None = None
    ) -> MigrationState:
        """End the migration with the candidate at 0 %."""
        state = self._require(route)
        if state.phase.finished:
            raise MigrationError(f"route {route!r} is already {state.phase.value}")
        aborted = state.with_(phase=Phase.ABORTED, weight_bps=0, running_since=None)
        if self.metrics is not None and state.weight_bps > 0 and not state.dry_run:
            self.metrics.rolled_back(route, ["abort"])
        why, numbers = _by("aborted", actor, reason)
        return self.recorder.commit(aborted, "aborted", (why,), numbers)

    # -- transitions ------------------------------------------------------------------------------

    def _advance(
        self,
        state: MigrationState,
        reasons: Sequence[str],
        numbers: dict[str, Any] | None,
        snapshot: Snapshot | None = None,
    ) -> MigrationState:
        if self.metrics is not None and not state.dry_run:
            self.metrics.promoted(state.route)
        last = state.step_index + 1 >= len(state.plan.steps)
        if last:
            done = state.with_(phase=Phase.COMPLETED, running_since=None)
            return self.recorder.commit(done, "completed", reasons, numbers, snapshot)
        moved = self._enter_step(state, state.step_index + 1, Phase.RUNNING)
        return self.recorder.commit(moved, "promoted", reasons, numbers, snapshot)

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
        if self.metrics is not None and not state.dry_run:
            self.metrics.rolled_back(state.route, labels)
        return self.recorder.commit(rolled, "rolled_back", reasons, numbers, snapshot)

    # -- the evaluation ---------------------------------------------------------------------------

    def step(self) -> list[Evaluation]:
        """Retry buffered writes, reconcile weights, evaluate every route under analysis once."""
        self.store.flush()
        results = []
        states = self.store.load_all()
        for state in states:
            if not state.dry_run:
                self.recorder.apply(state.route, state.weight_bps, reconcile=True)
            if under_analysis(state):
                results.append(self._evaluate(state))
        self.recorder.apply_manual(_steered(states), reconcile=True)
        self.ledger.judged([e.state for e in results])
        if self.ledger.due():  # after every decision of this evaluation, never before
            self.ledger.save()
        if self.metrics is not None:
            self.metrics.store(self.store.failing, self.store.errors, self.store.pending)
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

        baseline, candidate = read_windows(self.source, self.inflight, route, self.policy)
        if self.deadlines is not None:
            self.deadlines.set_fallback_after(route, fallback_after_s(baseline, self.policy))
        if candidate.slow_inflight and state.running_since is not None:
            # Hold time never accrues while candidate attempts hang: the segment closes at the
            # last evaluation (the state's last commit) and the time since then is dropped.
            state = state.with_(held_before_s=state.held_s(state.updated_at), running_since=now)
        self._conditions.set(route, "candidate_stuck", candidate.slow_inflight > 0)
        weight = self._judged_weight(state)
        progress = StepProgress(
            weight,
            state.held_s(now),
            state.step_requests,
            state.step.hold_s,
            state.step.min_requests,
            state.consecutive_failures,
        )
        step, operations = self.ledger.windows(state)
        state = check_share(self._conditions, self.recorder, self.policy, state, step, weight)
        shadow = self.source.shadow(route, span)
        verdict = analyse(progress, baseline, candidate, shadow, self.policy, step, operations)
        if self.metrics is not None:
            self.metrics.verdict(route, verdict, baseline, candidate)
        self.ledger.observe(route, verdict.aa_alarms)
        numbers = _numbers(verdict)
        snapshot = Snapshot(
            route,
            now,
            weight,
            verdict.decision.value,
            baseline.p95(),
            candidate.p95(),
            _rate(baseline),
            _rate(candidate),
            baseline.requests,
            candidate.requests,
            verdict.reasons,
            numbers,
        )
        decision = verdict.decision
        state = state.with_(consecutive_failures=verdict.consecutive_failures)
        episode = self._conditions.set(route, "baseline_degraded", verdict.baseline_degraded)
        if episode:  # once per episode, not once per evaluation
            what = "baseline_degraded" if verdict.baseline_degraded else "baseline_recovered"
            state = self.recorder.commit(state, what, verdict.reasons[:1], numbers)
        if decision is Decision.PROMOTE and state.phase is Phase.RUNNING and self.store.failing:
            state, held = refused(self.recorder, state, verdict, numbers, snapshot)
            return Evaluation(route, held, state)
        stalled = state.phase is Phase.RUNNING and is_stalled(state, verdict, now)
        if self._conditions.set(route, "stalled", stalled) and stalled:
            rps = (step.candidate.requests if step else 0) / max(state.held_s(now), 1e-9)
            why = stall_reasons(state, verdict, now, rps)
            log.warning("migration stalled", route=route, reasons=list(why))
            if state.plan.on_stall == "rollback":
                rolled = self._roll_back(state, why, ["stalled"], numbers, snapshot)
                return Evaluation(route, verdict, rolled)
            state = self.recorder.commit(state, "stalled", why, numbers)

        if decision is Decision.ROLLBACK:
            labels = [c.name for c in verdict.failed]
            state = self._roll_back(state, verdict.reasons, labels, numbers, snapshot)
        elif state.phase is Phase.RUNNING and decision is Decision.PROMOTE:
            if state.plan.gated_after(state.step_index):
                gated = state.with_(
                    phase=Phase.AWAITING_GATE,
                    held_before_s=state.held_s(now),
                    running_since=None,
                    last_decision=decision.value,
                )
                upcoming = state.plan.steps[state.step_index + 1].describe()
                reasons = (
                    *verdict.reasons,
                    f"gate: waiting for an operator to promote to {upcoming}",
                )
                state = self.recorder.commit(gated, "awaiting_gate", reasons, numbers, snapshot)
            else:
                state, answer = ask_gate(self.gate, self.recorder, state, verdict)
                if not answer.approved:
                    state, held = held_by_gate(
                        self.recorder, state, verdict, answer, numbers, snapshot
                    )
                    return Evaluation(route, held, state)
                reasons = (*verdict.reasons, *answer.reasons)  # the hook's approval, if asked
                try:
                    state = self._advance(state, reasons, numbers, snapshot)
                except StoreUnavailable:
                    state, held = refused(self.recorder, state, verdict, numbers, snapshot)
                    return Evaluation(route, held, state)
        else:
            changed = decision.value != state.last_decision or bool(verdict.failed)
            state = state.with_(last_decision=decision.value)
            kind = f"decision_{decision.value}" if changed else None
            state = self.recorder.commit(state, kind, verdict.reasons, numbers, snapshot)
        return Evaluation(route, verdict, state)

    def _judged_weight(self, state: MigrationState) -> int:
        """The weight the evidence was served at: the plan's, or in a dry run the live one."""
        if not state.dry_run:
            return state.weight_bps
        live = self.recorder.live(state.route)
        return state.weight_bps if live is None else live

    async def run(self, stop: asyncio.Event) -> None:
        """Call :meth:`step` every ``interval_s`` until ``stop`` is set.

        ``step()`` runs on the event loop on purpose: it reads the windows the gateway writes from
        the same loop (no locks needed), and costs ~3 ms per route including the SQLite commit.
        A failing step is logged and the loop goes on; the gateway spawns this coroutine through
        its named-task helper.
        """
        try:
            while not stop.is_set():
                try:
                    self.step()
                except Exception:
                    log.exception("migration step failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.interval_s)
        finally:  # a clean shutdown (stopped or cancelled) saves the evidence since the last save
            try:
                self.ledger.save()
            except Exception:
                log.exception("step evidence not saved at shutdown")
