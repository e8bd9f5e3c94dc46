"""A state store that never makes the controller wait for the disk: failed writes are kept and
retried.

Issue #12, item 2: with the state file locked, read-only or on a full disk, a rollback that waited
for its commit left the candidate at its weight for as long as the disk was broken. The controller
now applies the safe weight first and writes afterwards through :class:`BufferedStore`, which

* keeps a write that fails in memory — the latest state per route (or manual weight) and every event
  in order, bounded — and retries them all, oldest first, at each :meth:`flush` (every controller
  tick), so the events are recorded, with their original times, once the store is back;
* answers reads with the buffered writes laid over the store (and over the last good read when the
  store cannot even be read), so the controller and the admin API see the decision it made;
* reports ``failing`` (with ``errors`` and ``failing_since``): the controller refuses promotions
  while it is set, never rollbacks, and exports it (``cutover_state_store_*``).

Writes that must *not* happen unless durable (a promotion: raising a weight whose record could be
lost) use :meth:`commit_now`, which raises instead of buffering. Etcd-backed controllers such as
Flagger get the same effect from the API server refusing the write; here the refusal is explicit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import structlog

from migration.cluster.seams import FencedOut
from migration.seams import Clock
from migration.state import Event, MigrationState, SavedEvidence, Snapshot
from migration.store import StateStore

__all__ = ["BufferedStore", "StoreUnavailable"]

log = structlog.get_logger("cutover.migration")

#: Events kept per route while the store fails; older ones are dropped (and counted in the log).
MAX_PENDING_EVENTS = 1000


class StoreUnavailable(Exception):
    """A write that may only happen durably failed, or the store is known to be failing."""


@dataclass
class _Pending:
    """The writes of one route not yet in the store."""

    state: MigrationState | None = None
    weight_bps: int | None = None
    events: list[Event] = field(default_factory=list)
    snapshot: Snapshot | None = None


class BufferedStore:
    """:class:`~migration.store.StateStore` over another one, buffering the writes that fail."""

    def __init__(self, store: StateStore, clock: Clock) -> None:
        self.inner = store
        self.clock = clock
        self.errors = 0
        self.failing_since: float | None = None
        self.last_error = ""
        self._pending: dict[str, _Pending] = {}
        self._states: dict[str, MigrationState] = {}
        self._weights: dict[str, int] = {}

    # -- health -----------------------------------------------------------------------------------

    @property
    def failing(self) -> bool:
        """True from a failed write until every buffered write is in the store."""
        return self.failing_since is not None

    @property
    def pending(self) -> int:
        """Routes with writes not yet in the store."""
        return len(self._pending)

    def _failed(self, exc: Exception, what: str) -> None:
        self.errors += 1
        self.last_error = f"{type(exc).__name__}: {exc}"
        if self.failing_since is None:
            self.failing_since = self.clock()
            log.error("state_store_failing", action=what, error=self.last_error)

    def _recovered(self) -> None:
        if self.failing_since is not None and not self._pending:
            log.warning(
                "state_store_recovered",
                failed_for_s=round(self.clock() - self.failing_since, 3),
                errors=self.errors,
            )
            self.failing_since = None

    def discard(self) -> None:
        """Forget every buffered write and cached read (a deposed leader: the new one decides).

        A write refused by the lease's fence (:class:`~migration.cluster.seams.FencedOut`) is never
        buffered: it re-raises after this, and the member stops acting as the leader.
        """
        if self._pending:
            log.warning("buffered_writes_discarded", routes=sorted(self._pending))
        self._pending.clear()
        self._states.clear()
        self._weights.clear()
        self.failing_since = None

    # -- writing ----------------------------------------------------------------------------------

    def _write(self, route: str, p: _Pending) -> None:
        if p.state is not None:
            self.inner.commit(p.state, p.events, p.snapshot)
        elif p.weight_bps is not None:
            self.inner.save_weight(route, p.weight_bps, p.events)

    def flush(self) -> bool:
        """Retry every buffered write; True when nothing is left buffered."""
        for route in list(self._pending):
            try:
                self._write(route, self._pending[route])
            except FencedOut:
                self.discard()
                raise
            except Exception as exc:
                self._failed(exc, "retry")
                return False
            del self._pending[route]
        self._recovered()
        return True

    def _buffer(self, route: str, events: Sequence[Event]) -> _Pending:
        p = self._pending.setdefault(route, _Pending())
        p.events.extend(events)
        if len(p.events) > MAX_PENDING_EVENTS:
            dropped = len(p.events) - MAX_PENDING_EVENTS
            del p.events[:dropped]
            log.error("state_store_events_dropped", route=route, dropped=dropped)
        return p

    def commit(
        self,
        state: MigrationState,
        events: Sequence[Event] = (),
        snapshot: Snapshot | None = None,
    ) -> None:
        """Write ``state`` now if the store takes it, else keep it for :meth:`flush`."""
        self._states[state.route] = state
        p = self._buffer(state.route, events)
        p.state, p.weight_bps, p.snapshot = state, None, snapshot or p.snapshot
        self._try(state.route)

    def save_weight(self, route: str, weight_bps: int, events: Sequence[Event] = ()) -> None:
        """Write a manual weight now if the store takes it, else keep it for :meth:`flush`."""
        self._weights[route] = weight_bps
        p = self._buffer(route, events)
        if p.state is not None:  # a migration record carries the weight itself
            p.state = p.state.with_(weight_bps=weight_bps)
            self._states[route] = p.state
        else:
            p.weight_bps = weight_bps
        self._try(route)

    def _try(self, route: str) -> None:
        if self.failing:
            # Only flush() retries while failing: one failed try (one busy timeout on a locked
            # file, with the gateway's event loop waiting) per tick, and older writes go first.
            return
        try:
            self._write(route, self._pending[route])
        except FencedOut:
            self.discard()
            raise
        except Exception as exc:
            self._failed(exc, "commit")
            return
        del self._pending[route]
        self._recovered()

    def commit_now(
        self,
        state: MigrationState,
        events: Sequence[Event] = (),
        snapshot: Snapshot | None = None,
    ) -> None:
        """Write ``state`` durably or raise :class:`StoreUnavailable` (nothing is buffered)."""
        if self.failing:
            raise StoreUnavailable(f"state store failing since {self.failing_since:.0f}")
        try:
            self.inner.commit(state, events, snapshot)
        except FencedOut:
            self.discard()
            raise
        except Exception as exc:
            self._failed(exc, "commit")
            raise StoreUnavailable(self.last_error) from exc
        self._states[state.route] = state

    def save_evidence(self, saved: SavedEvidence) -> None:
        """Straight to the store, never buffered: the next save supersedes a failed one."""
        self.inner.save_evidence(saved)

    # -- reading ----------------------------------------------------------------------------------

    def load_evidence(self, route: str) -> SavedEvidence | None:
        """The store's saved step evidence of ``route`` (raises as the store does)."""
        return self.inner.load_evidence(route)

    def load(self, route: str) -> MigrationState | None:
        """The state of ``route``: a buffered one, else the store's (else the last one read)."""
        p = self._pending.get(route)
        if p is not None and p.state is not None:
            return p.state
        try:
            state = self.inner.load(route)
        except Exception as exc:
            self._failed(exc, "load")
            return self._states.get(route)
        if state is not None:
            self._states[route] = state
        return state

    def load_all(self) -> list[MigrationState]:
        """Every route's state, buffered writes laid over the store's."""
        try:
            for state in self.inner.load_all():
                self._states[state.route] = state
        except Exception as exc:
            self._failed(exc, "load")
        for route, p in self._pending.items():
            if p.state is not None:
                self._states[route] = p.state
        return [self._states[r] for r in sorted(self._states)]

    def load_weights(self) -> dict[str, int]:
        """Manual weights of routes without a migration, buffered ones included."""
        try:
            self._weights.update(self.inner.load_weights())
        except Exception as exc:
            self._failed(exc, "load")
        for route, p in self._pending.items():
            if p.weight_bps is not None:
                self._weights[route] = p.weight_bps
        return dict(self._weights)

    def events(self, route: str | None = None, limit: int = 100) -> list[Event]:
        """Stored events then buffered ones (newest last)."""
        try:
            stored = self.inner.events(route, limit)
        except Exception as exc:
            self._failed(exc, "load")
            stored = []
        pending = list(self._pending.items())  # one C-level copy: the admin reads from a thread
        buffered = sorted(
            (e for r, p in pending if route in (None, r) for e in list(p.events)),
            key=lambda e: e.at,
        )
        return (stored + buffered)[-limit:]

    def snapshots(self, route: str, limit: int = 1000) -> list[Snapshot]:
        """Stored snapshots (a buffered one is written with its state)."""
        try:
            return self.inner.snapshots(route, limit)
        except Exception as exc:
            self._failed(exc, "load")
            return []
