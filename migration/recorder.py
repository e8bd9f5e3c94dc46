"""Recording a route's state and putting its weight in force, the safe direction first.

:class:`Recorder` is the controller's one way to change anything: :meth:`Recorder.commit` writes a
state (with its event and snapshot) and makes the gateway's weight match it, then tells the sinks;
:meth:`Recorder.apply` and :meth:`Recorder.apply_manual` re-apply stored weights.

The safe direction never waits for the disk (issue #12, item 2): a change that lowers or keeps the
weight (rollback, step-down, abort, hold) is applied to the gateway *first* and then written through
:class:`~migration.buffered_store.BufferedStore`, which keeps a failed write and retries it every
tick. A change that raises the weight (promotion, start, resume) is written first and applied only
once durable (:class:`~migration.buffered_store.StoreUnavailable` if it cannot be): a promotion
whose record could be lost would come back as a lower weight after a restart. A dry run's weight is
the operator's: its record is buffered and no weight is applied.

Every committed event goes to the ``sinks`` (:class:`~migration.seams.EventSink`: the notifier,
the post-rollback hook) after it is recorded; a failing sink is logged, never the controller's
problem.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import structlog

from migration.buffered_store import BufferedStore
from migration.cluster.seams import FencedOut
from migration.decision_metrics import DecisionMetrics
from migration.seams import Clock, EventSink, WeightControl
from migration.state import Event, MigrationState, Snapshot

__all__ = ["ACTOR", "Recorder"]

log = structlog.get_logger("cutover.migration")

#: The actor the controller sets weights as; every other actor's change is a manual one.
ACTOR = "controller"


class Recorder:
    """Commits states (safe direction first) and keeps the gateway's weights in line with them."""

    def __init__(
        self,
        *,
        store: BufferedStore,
        weights: WeightControl,
        clock: Clock,
        metrics: DecisionMetrics | None = None,
        sinks: Sequence[EventSink] = (),
    ) -> None:
        self.store = store
        self.weights = weights
        self.clock = clock
        self.metrics = metrics
        self.sinks = tuple(sinks)

    def live(self, route: str) -> int | None:
        """The gateway's weight for ``route``; None for a stored route the gateway no longer has."""
        try:
            return self.weights.get_weight(route)
        except Exception:  # a stored route the gateway no longer has
            return None

    def apply(self, route: str, bps: int, *, reconcile: bool = False) -> None:
        """Make the gateway's weight ``bps`` (a no-op when it already is)."""
        live = self.live(route)
        if live is None or live == bps:
            return  # in force already, or a stored route the gateway no longer has
        if reconcile:
            log.warning("weight_reconciled", route=route, live_bps=live, stored_bps=bps)
        try:
            self.weights.set_weight(route, bps, actor=ACTOR)
        except FencedOut:
            raise  # deposed: nothing more to do here (the member steps down)
        except Exception:
            log.exception("set_weight failed; retrying next step", route=route)

    def commit(
        self,
        state: MigrationState,
        kind: str | None,
        reasons: Sequence[str] = (),
        numbers: dict[str, Any] | None = None,
        snapshot: Snapshot | None = None,
        *,
        applied: bool = False,
    ) -> MigrationState:
        """Record ``state`` and put its weight in force, the safe direction first.

        Lowering (or keeping) the weight: applied, then written (buffered if the store fails).
        Raising it: written durably, then applied; ``StoreUnavailable`` if it cannot be.
        ``applied``: the gateway already has this weight (an operator set it).
        """
        now = self.clock()
        state = state.with_(updated_at=now)
        events: tuple[Event, ...] = ()
        if kind is not None:
            if state.dry_run:
                reasons = [f"[dry run] {r}" for r in reasons]
                numbers = (numbers or {}) | {"dry_run": True}
            event = Event(
                state.route,
                now,
                kind,
                state.phase,
                state.step_index,
                state.weight_bps,
                tuple(reasons),
                numbers or {},
                state.migration_id,
            )
            events = (event,)
            log.info(
                "migration event",
                route=state.route,
                kind=kind,
                phase=state.phase.value,
                step=state.step_index,
                weight_bps=state.weight_bps,
                reasons=list(reasons),
            )
        live = self.live(state.route)
        raising = not applied and live is not None and state.weight_bps > live
        if state.dry_run:  # analysis only: the weight is the operator's, the record buffered
            self.store.commit(state, events, snapshot)
        elif raising:
            self.store.commit_now(state, events, snapshot)
            self.apply(state.route, state.weight_bps)
        else:
            if not applied:
                self.apply(state.route, state.weight_bps)
            self.store.commit(state, events, snapshot)
        if self.metrics is not None:
            self.metrics.state(state)
            self.metrics.store(self.store.failing, self.store.errors, self.store.pending)
        self.emit(events, state)
        return state

    def emit(self, events: Sequence[Event], state: MigrationState | None) -> None:
        """Tell the sinks of recorded events; a failing sink is logged, never the controller's
        problem."""
        for event in events:
            for sink in self.sinks:
                try:
                    sink.emitted(event, state)
                except Exception:
                    log.exception("event sink failed", route=event.route, kind=event.kind)

    def apply_manual(self, migrated: set[str], *, reconcile: bool = False) -> None:
        """Put the stored manual weights of routes without a migration in force."""
        for route, bps in sorted(self.store.load_weights().items()):
            if route not in migrated:
                self.apply(route, bps, reconcile=reconcile)
