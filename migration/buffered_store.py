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

With a :class:`~migration.journal.Journal`, every buffered write is also appended to a local file
before the call returns, and :meth:`replay` puts them back after a crash (see that module for the
decisions: last writer wins for state, events are matched by route, time and kind so a journal
replayed twice records each once).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from migration.cluster.seams import FencedOut
from migration.journal import Journal, Replay, commit_entry, entry_events, weight_entry
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

    def __init__(self, store: StateStore, clock: Clock, journal: Journal | None = None) -> None:
        self.inner = store
        self.clock = clock
        self.journal = journal
        self._replayed: set[str] = set()  # routes whose events may already be in the store
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
        self._replayed.clear()
        self.failing_since = None
        if self.journal is not None:
            self.journal.clear()

    # -- writing ----------------------------------------------------------------------------------

    def _write(self, route: str, p: _Pending) -> None:
        events = p.events
        if route in self._replayed:  # the store may have taken these before the crash
            stored = self.inner.events(route, len(events) + MAX_PENDING_EVENTS)
            seen = {(e.at, e.kind) for e in stored}
            events = [e for e in events if (e.at, e.kind) not in seen]
        if p.state is not None:
            self.inner.commit(p.state, events, p.snapshot)
        elif p.weight_bps is not None:
            self.inner.save_weight(route, p.weight_bps, events)
        self._replayed.discard(route)

    def _written(self, route: str) -> None:
        del self._pending[route]
        if not self._pending and self.journal is not None:
            self.journal.clear()

    def _journal(self, entry: dict[str, object]) -> None:
        """Append a buffered write to the journal (after the weight is in force; never raises)."""
        if self.journal is not None:
            self.journal.append(entry, self._entries())

    def _entries(self) -> list[dict[str, object]]:
        """Every pending write as journal lines (to rewrite the file)."""
        out: list[dict[str, object]] = []
        for route, p in self._pending.items():
            if p.state is not None:
                out.append(commit_entry(p.state, p.events, p.snapshot))
            elif p.weight_bps is not None:
                out.append(weight_entry(route, p.weight_bps, p.events))
        return out

    def replay(self) -> Replay:
        """Buffer again the writes the journal kept (call once, at start-up, before any read).

        The store is not written here: the controller's next :meth:`flush` does it (in a cluster,
        only as the leader, under its fence). Until then the store counts as failing, so no
        promotion can jump over a replayed rollback.
        """
        if self.journal is None:
            return Replay(())
        replay = self.journal.read()
        skipped = replay.skipped
        for entry in replay.entries:
            try:
                self._replay_entry(entry)
            except (KeyError, ValueError, TypeError) as exc:  # a line another version wrote
                skipped += 1
                log.warning("journal_entry_skipped", path=str(self.journal.path), error=str(exc))
        if replay.entries:
            self.failing_since = self.clock()
            self.last_error = f"writes replayed from {self.journal.path}, not yet in the store"
        if replay.entries or skipped:
            log.warning(
                "journal_replayed",
                path=str(self.journal.path),
                entries=len(replay.entries) - (skipped - replay.skipped),
                routes=sorted(self._pending),
                events=sum(len(p.events) for p in self._pending.values()),
                skipped=skipped,
                epoch=replay.epoch,
            )
        return replay

    def _replay_entry(self, entry: dict[str, Any]) -> None:
        route, events = str(entry["route"]), entry_events(entry)
        if entry["op"] == "commit":
            state = MigrationState.from_dict(entry["state"])
            snapshot = Snapshot.from_dict(entry["snapshot"]) if entry.get("snapshot") else None
            p = self._buffer(route, events)
            p.state, p.weight_bps, p.snapshot = state, None, snapshot or p.snapshot
            self._states[route] = state
        else:
            bps = int(entry["weight_bps"])
            p = self._buffer(route, events)
            self._weights[route] = bps
            if p.state is not None:
                p.state = self._states[route] = p.state.with_(weight_bps=bps)
            else:
                p.weight_bps = bps
        self._replayed.add(route)

    def buffered_weights(self) -> dict[str, int]:
        """The weight each buffered write puts in force (a dry run's state puts none)."""
        out = {}
        for route, p in self._pending.items():
            if p.state is not None and not p.state.dry_run:
                out[route] = p.state.weight_bps
            elif p.state is None and p.weight_bps is not None:
                out[route] = p.weight_bps
        return out

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
            self._written(route)
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
        if not self._try(state.route):
            self._journal(commit_entry(state, events, snapshot))

    def save_weight(self, route: str, weight_bps: int, events: Sequence[Event] = ()) -> None:
        """Write a manual weight now if the store takes it, else keep it for :meth:`flush`."""
        self._weights[route] = weight_bps
        p = self._buffer(route, events)
        if p.state is not None:  # a migration record carries the weight itself
            p.state = p.state.with_(weight_bps=weight_bps)
            self._states[route] = p.state
        else:
            p.weight_bps = weight_bps
        if not self._try(route):
            self._journal(weight_entry(route, weight_bps, events))

    def _try(self, route: str) -> bool:
        """Write ``route``'s pending writes now; False when they stay buffered."""
        if self.failing:
            # Only flush() retries while failing: one failed try (one busy timeout on a locked
            # file, with the gateway's event loop waiting) per tick, and older writes go first.
            return False
        try:
            self._write(route, self._pending[route])
        except FencedOut:
            self.discard()
            raise
        except Exception as exc:
            self._failed(exc, "commit")
            return False
        self._written(route)
        self._recovered()
        return True

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
