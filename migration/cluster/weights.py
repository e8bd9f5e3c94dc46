"""Changing weights and faults in a cluster: through the shared snapshot, the safe direction first.

Two writers change the snapshot:

* the leader's controller, through :class:`ClusterWeights` (its
  :class:`~migration.seams.WeightControl`): a lower weight is put in force locally *first* and then
  published (fenced by the lease's epoch), a higher one is published first and applied only once
  recorded. :meth:`ClusterWeights.get_weight` answers with the *published* weight, so a publish that
  failed differs from the state and the controller's reconciliation retries it next tick.
* an operator, through any process' admin API: :class:`SnapshotGuard` is the gateway state's
  :data:`~gateway.state.ChangeGuard`; it publishes the change before the state applies it and
  refuses it (``ChangeRefused``, HTTP 503) when the store cannot record it — a change is everywhere
  or nowhere. The leader then sees it in the snapshot, with its actor, and records it (a manual
  weight during a migration pauses it, as on one process).

Changes the state makes while applying a snapshot, the controller's own (already published), and a
fail-static process' local lowering (published later, see the follower) pass the guard untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog

from gateway.faults import FaultSpec
from gateway.state import ChangeRefused, GatewayState
from migration.cluster.follower import ConfigFollower, set_fault_in, set_weight_in
from migration.cluster.seams import ClusterStore
from migration.state import Event, Phase

__all__ = ["LOCAL_ACTOR", "ClusterWeights", "SnapshotGuard", "publish_local_changes"]

log = structlog.get_logger("cutover.cluster")

#: The controller's actor (as in migration.controller.ACTOR).
CONTROLLER = "controller"
#: The actor of a weight a fail-static process lowered on its own.
LOCAL_ACTOR = "fail-static"


class ClusterWeights:
    """The leader controller's weight control: the shared snapshot, fenced by the lease."""

    def __init__(self, store: ClusterStore, state: GatewayState, follower: ConfigFollower) -> None:
        self.store = store
        self.state = state
        self.follower = follower

    def get_weight(self, route: str, /) -> int:
        """The published weight (the local one for a route no snapshot names yet)."""
        published = self.follower.published_weight(route)
        return self.state.get_weight(route) if published is None else published

    def set_weight(self, route: str, bps: int, /, *, actor: str = CONTROLLER) -> int:
        """Publish ``bps`` (fenced); lowering is in force here before the store is asked."""
        old = self.get_weight(route)
        lowering = bps <= self.state.get_weight(route)
        if lowering:
            self.state.set_weight(route, bps, actor=actor)
        snapshot = self.store.update_config(
            lambda d: set_weight_in(d, route, bps, actor, None), fenced=True
        )
        self.follower.apply(snapshot, skip=("weight", route))
        if not lowering:
            self.state.set_weight(route, bps, actor=actor)
        return old


class SnapshotGuard:
    """Publishes an operator's weight or fault change before the gateway state applies it.

    With the store unreachable the safe changes still happen, here only: a lower weight and a
    fault (rehearsing a rollback must not wait for the database) are applied and kept in the
    follower, to be published when the store returns. A higher weight is refused (503): nothing
    may raise a weight that the other replicas cannot learn.
    """

    def __init__(self, store: ClusterStore, follower: ConfigFollower, state: GatewayState) -> None:
        self.store = store
        self.follower = follower
        self.state = state

    def __call__(self, kind: str, key: str, value: object, actor: str, reason: str | None) -> None:
        """The :data:`~gateway.state.ChangeGuard`."""
        f = self.follower
        if f.applying or actor in (CONTROLLER, LOCAL_ACTOR):
            return
        if not f.fail_static:
            try:
                snapshot = self.store.update_config(self._change(kind, key, value, actor, reason))
            except Exception as exc:
                f.failed(exc)
            else:
                f.succeeded()
                f.apply(snapshot, skip=(kind, key))
                return
        if kind == "weight" and isinstance(value, int) and value > self.state.get_weight(key):
            raise ChangeRefused(
                "the shared state store is unreachable, so no weight can be raised (the other "
                f"replicas could not learn it); lowering still works ({f.last_error})"
            )
        why = f"{actor}: {reason}" if reason else actor
        f.keep_local(kind, key, value, why, journal_soon=True)  # journaled once in force

    @staticmethod
    def _change(
        kind: str, key: str, value: object, actor: str, reason: str | None
    ) -> Callable[[dict[str, Any]], dict[str, Any]]:
        if kind == "weight":
            assert isinstance(value, int)
            bps = value
            return lambda d: set_weight_in(d, key, bps, actor, reason)
        spec = value if isinstance(value, FaultSpec) else None
        return lambda d: set_fault_in(d, key, spec)


def _setter(route: str, bps: int, reason: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda d: set_weight_in(d, route, bps, LOCAL_ACTOR, reason)


def _fault_setter(
    backend: str, spec: FaultSpec | None
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda d: set_fault_in(d, backend, spec)


def publish_local_changes(store: ClusterStore, follower: ConfigFollower, replica: str) -> int:
    """Publish what this process changed alone while the store was gone; returns how many (any
    thread).

    A lowered weight goes into the snapshot with the actor ``fail-static`` and a reason naming the
    replica and why, so the leader records it as a manual change (an ``overridden`` event pausing
    the migration) — the event the outage could not record. A failure keeps them for the next try.
    A change replayed from the local journal may already be in the store (a crash after the publish,
    before the journal dropped it): its event is then not added again.
    """
    published = 0
    try:
        for route, (bps, why, at) in sorted(follower.local_changes.items()):
            store.update_config(_setter(route, bps, f"{replica}: {why}"))
            if route not in follower.replayed or not _has_event(store, route, at):
                state = store.load(route)
                phase, step = (
                    (state.phase, state.step_index) if state is not None else (Phase.PENDING, 0)
                )
                reasons = (
                    f"{replica} set {bps / 100:g}% on its own while the store was unreachable",
                    why,
                )
                numbers = {"replica": replica, "actor": LOCAL_ACTOR, "new_bps": bps}
                event = Event(route, at, "local_change", phase, step, bps, reasons, numbers)
                store.add_events([event])
            del follower.local_changes[route]
            follower.replayed.discard(route)
            published += 1
            log.info("local_change_published", route=route, weight_bps=bps, replica=replica)
        for backend, spec in sorted(follower.local_faults.items()):
            store.update_config(_fault_setter(backend, spec))
            del follower.local_faults[backend]
            published += 1
            log.info("local_fault_published", backend=backend, replica=replica)
    finally:
        if published and follower.on_published is not None:
            follower.on_published()
    return published


def _has_event(store: ClusterStore, route: str, at: float) -> bool:
    """Whether the store already has ``route``'s ``local_change`` event of time ``at``."""
    return any(
        e.kind == "local_change" and abs(e.at - at) < 1e-3 for e in store.events(route, 1000)
    )
