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
    """Publishes an operator's weight or fault change before the gateway state applies it."""

    def __init__(self, store: ClusterStore, follower: ConfigFollower) -> None:
        self.store = store
        self.follower = follower

    def __call__(self, kind: str, key: str, value: object, actor: str, reason: str | None) -> None:
        """The :data:`~gateway.state.ChangeGuard`."""
        if self.follower.applying or actor in (CONTROLLER, LOCAL_ACTOR):
            return
        if self.follower.fail_static:
            raise ChangeRefused(
                "the shared state store is unreachable; replicas serve the last snapshot "
                f"(version {self.follower.version}) until it returns ({self.follower.last_error})"
            )
        try:
            if kind == "weight":
                assert isinstance(value, int)
                bps = value
                snapshot = self.store.update_config(
                    lambda d: set_weight_in(d, key, bps, actor, reason)
                )
            else:
                spec = value if isinstance(value, FaultSpec) else None
                snapshot = self.store.update_config(lambda d: set_fault_in(d, key, spec))
        except Exception as exc:
            self.follower.failed(exc)
            raise ChangeRefused(f"the shared state store cannot record the change: {exc}") from None
        self.follower.succeeded()
        self.follower.apply(snapshot, skip=(kind, key))


def _setter(route: str, bps: int, reason: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda d: set_weight_in(d, route, bps, LOCAL_ACTOR, reason)


def publish_local_changes(store: ClusterStore, follower: ConfigFollower, replica: str) -> int:
    """Publish the weights this process lowered while fail-static; returns how many (any thread).

    Each goes into the snapshot with the actor ``fail-static`` and a reason naming the replica and
    the breach, so the leader records it as a manual change (an ``overridden`` event pausing the
    migration) — the event the outage could not record. A failure keeps them for the next try.
    """
    published = 0
    for route, (bps, why, _) in sorted(follower.local_changes.items()):
        store.update_config(_setter(route, bps, f"{replica}: {why}"))
        del follower.local_changes[route]
        published += 1
        log.info("local_rollback_published", route=route, weight_bps=bps, replica=replica)
    return published
