"""Test doubles for the cluster seams, shipped with the package (as :mod:`migration.testing`).

* :class:`InMemoryClusterStore` — a :class:`~migration.store.StateStore` *and*
  :class:`~migration.cluster.seams.ClusterStore` in memory, timed by an injected clock (the
  "database clock" of every member sharing the instance). Same rules as the SQL stores: the lease
  decisions are the same pure function (:mod:`migration.cluster.lease_decision`), writes are fenced
  the same way. ``down = True`` makes every call raise
  :class:`~migration.store_sql.StateStoreError`, as an unreachable PostgreSQL does.
* :class:`FakeConfigWatcher` — a :class:`~migration.cluster.config_watch.ConfigWatcher` woken by the
  fake store's :meth:`~InMemoryClusterStore.update_config`, as LISTEN/NOTIFY wakes the real one.

Several members of one test share one store instance; give each its own view with
:meth:`InMemoryClusterStore.member` so that each has its own :attr:`fence` over the same tables.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable, Sequence
from typing import Any

from migration.cluster.lease_decision import LeaseRow, decide_lease, lease_as_read, release
from migration.cluster.seams import ConfigSnapshot, EvidenceRow, Fence, FencedOut, Lease, ReplicaRow
from migration.cluster.store import REPLICA_FORGET_S, empty_config
from migration.state import Event, MigrationState, SavedEvidence, Snapshot
from migration.store_sql import StateStoreError
from migration.testing import InMemoryStore

__all__ = ["FakeConfigWatcher", "InMemoryClusterStore"]


class _Tables:
    """What the members of one fake cluster share: the cluster tables and the clock."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.lease: LeaseRow | None = None
        self.config: ConfigSnapshot | None = None
        self.replicas: dict[str, tuple[dict[str, Any], float]] = {}
        self.evidence: list[EvidenceRow] = []
        self.evidence_keys: dict[tuple[str, str, int], EvidenceRow] = {}
        self.next_id = 1
        self.watchers: list[FakeConfigWatcher] = []
        self.down = False


class InMemoryClusterStore(InMemoryStore):
    """The state store and the cluster tables in memory; ``clock`` is the database's clock."""

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        max_snapshots: int = 2000,
        max_events: int = 10_000,
    ) -> None:
        super().__init__(max_snapshots=max_snapshots, max_events=max_events)
        self._tables = _Tables(clock)
        self.fence: Fence | None = None

    def member(self) -> InMemoryClusterStore:
        """Another member's store over the same state and tables, with a fence of its own."""
        other = copy.copy(self)  # shares every dict, deque and the tables; not the fence
        other.fence = None
        return other

    @property
    def down(self) -> bool:
        """Every call of every member raises StateStoreError (the database is unreachable)."""
        return self._tables.down

    @down.setter
    def down(self, value: bool) -> None:
        self._tables.down = value

    def _reach(self) -> None:
        if self._tables.down:
            raise StateStoreError("state store memory: connection refused")

    def db_time(self) -> float:
        """The shared clock."""
        self._reach()
        return self._tables.clock()

    # -- the StateStore, fenced and reachable or not ----------------------------------------------

    def _check_fence(self) -> None:
        fence, row = self.fence, self._tables.lease
        if fence is None:
            return
        if row is None or row.holder != fence.holder or row.epoch != fence.epoch:
            found = "no lease" if row is None else f"epoch {row.epoch} of {row.holder}"
            raise FencedOut(f"fenced: {fence.holder} writes at epoch {fence.epoch}, found {found}")

    def commit(
        self,
        state: MigrationState,
        events: Sequence[Event] = (),
        snapshot: Snapshot | None = None,
    ) -> None:
        self._reach()
        self._check_fence()
        super().commit(state, events, snapshot)

    def save_weight(self, route: str, weight_bps: int, events: Sequence[Event] = ()) -> None:
        self._reach()
        self._check_fence()
        super().save_weight(route, weight_bps, events)

    def add_events(self, events: Sequence[Event]) -> None:
        self._reach()
        super().add_events(events)

    def load(self, route: str) -> MigrationState | None:
        self._reach()
        return super().load(route)

    def load_all(self) -> list[MigrationState]:
        self._reach()
        return super().load_all()

    def load_weights(self) -> dict[str, int]:
        self._reach()
        return super().load_weights()

    def save_evidence(self, saved: SavedEvidence) -> None:
        self._reach()
        self._check_fence()
        super().save_evidence(saved)

    def load_evidence(self, route: str) -> SavedEvidence | None:
        self._reach()
        return super().load_evidence(route)

    def events(self, route: str | None = None, limit: int = 100) -> list[Event]:
        self._reach()
        return super().events(route, limit)

    def snapshots(self, route: str, limit: int = 1000) -> list[Snapshot]:
        self._reach()
        return super().snapshots(route, limit)

    def close(self) -> None:
        """Nothing to close."""

    # -- lease ------------------------------------------------------------------------------------

    def acquire_lease(self, holder: str, ttl_s: float) -> Lease:
        self._reach()
        written, lease = decide_lease(self._tables.lease, holder, ttl_s, self._tables.clock())
        if written is not None:
            self._tables.lease = written
        return lease

    def release_lease(self, holder: str, epoch: int) -> None:
        self._reach()
        written = release(self._tables.lease, holder, epoch, self._tables.clock())
        if written is not None:
            self._tables.lease = written

    def read_lease(self) -> Lease:
        self._reach()
        return lease_as_read(self._tables.lease, self._tables.clock())

    # -- config -----------------------------------------------------------------------------------

    def read_config(self) -> ConfigSnapshot | None:
        self._reach()
        config = self._tables.config
        return None if config is None else ConfigSnapshot(config.version, _copied(config.data))

    def update_config(
        self, change: Callable[[dict[str, Any]], dict[str, Any]], *, fenced: bool = False
    ) -> ConfigSnapshot:
        self._reach()
        if fenced:
            self._check_fence()
        current = self._tables.config
        data = empty_config() if current is None else _copied(current.data)
        version = 1 if current is None else current.version + 1
        stored = ConfigSnapshot(version, _copied(change(data)))  # JSON, as the SQL stores keep it
        self._tables.config = stored
        for watcher in self._tables.watchers:
            watcher.notify()
        return ConfigSnapshot(version, _copied(stored.data))

    def watcher(self) -> FakeConfigWatcher:
        """A config watcher woken by every :meth:`update_config` of any member."""
        made = FakeConfigWatcher()
        self._tables.watchers.append(made)
        return made

    # -- heartbeats -------------------------------------------------------------------------------

    def heartbeat(self, replica: str, info: dict[str, Any]) -> None:
        self._reach()
        now = self._tables.clock()
        self._tables.replicas[replica] = (_copied(info), now)
        for name, (_, seen) in list(self._tables.replicas.items()):
            if seen < now - REPLICA_FORGET_S:
                del self._tables.replicas[name]

    def replicas(self, max_age_s: float = 3600.0) -> list[ReplicaRow]:
        self._reach()
        now = self._tables.clock()
        return [
            ReplicaRow(name, _copied(info), now - seen)
            for name, (info, seen) in sorted(self._tables.replicas.items())
            if seen >= now - max_age_s
        ]

    # -- evidence ---------------------------------------------------------------------------------

    def publish_evidence(self, replica: str, rows: Sequence[tuple[str, int, str]]) -> None:
        self._reach()
        tables = self._tables
        for route, tag, payload in rows:
            key = (replica, route, int(tag))
            found = tables.evidence_keys.get(key)
            if found is not None:
                if found.payload == payload:
                    continue
                tables.evidence.remove(found)  # replaced: a new id, as the SQL stores do
            stored = EvidenceRow(tables.next_id, replica, route, int(tag), payload)
            tables.evidence_keys[key] = stored
            tables.evidence.append(stored)
            tables.next_id += 1

    def evidence_after(self, last_id: int, limit: int = 5000) -> list[EvidenceRow]:
        self._reach()
        return [row for row in self._tables.evidence if row.id > last_id][:limit]

    def prune_evidence(self, before_tag: int) -> None:
        self._reach()
        tables = self._tables
        tables.evidence = [row for row in tables.evidence if row.tag >= before_tag]
        tables.evidence_keys = {(r.replica, r.route, r.tag): r for r in tables.evidence}


def _copied(data: dict[str, Any]) -> dict[str, Any]:
    """A deep copy through JSON: what a SQL store would give back (and a refusal of non-JSON)."""
    copied: dict[str, Any] = json.loads(json.dumps(data))
    return copied


class FakeConfigWatcher:
    """Woken by the fake store's config updates; a notice that came while nobody waited is kept.

    :meth:`wait` really waits (up to ``timeout_s`` of the event loop's time) for a notice: tests
    that drive a follower step by step call it with ``timeout_s=0``.
    """

    def __init__(self) -> None:
        self._pending = False
        self._event: asyncio.Event | None = None
        self.closed = False

    def notify(self) -> None:
        """A new version was written (called by the fake store, on the loop's thread)."""
        self._pending = True
        if self._event is not None:
            self._event.set()

    async def wait(self, timeout_s: float) -> bool:
        """True when a notice arrived (now or before), False after ``timeout_s``."""
        if not self._pending and timeout_s > 0:
            self._event = asyncio.Event()
            try:
                await asyncio.wait_for(self._event.wait(), timeout_s)
            except TimeoutError:
                pass
            finally:
                self._event = None
        woken, self._pending = self._pending, False
        return woken

    def close(self) -> None:
        self.closed = True
