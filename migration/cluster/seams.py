"""The interfaces of the cluster parts: the store's cluster tables, leases, fences, snapshots.

:class:`ClusterStore` is what a shared store adds to :class:`~migration.store.StateStore`; the SQL
stores (SQLite for workers on one host, PostgreSQL for replicas) implement both, and
:mod:`migration.testing`-style fakes implement it in memory.

Times: every age and expiry here is measured by the *database's* clock (one clock for all members;
host clocks are not trusted for the lease). Evidence bucket tags are ``floor(wall time)`` seconds
of the publishing host (hosts are NTP-synchronised; a skew of a second shifts a bucket by one).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from migration.state import Event, MigrationState

__all__ = [
    "CONFIG_CHANNEL",
    "LEASE_NAME",
    "ClusterStore",
    "ConfigSnapshot",
    "EvidenceRow",
    "Fence",
    "FencedOut",
    "Lease",
    "ReplicaRow",
    "Role",
]

#: The one lease: whoever holds it runs the controller.
LEASE_NAME = "controller"
#: The PostgreSQL NOTIFY channel a new config version is announced on (payload: the version).
CONFIG_CHANNEL = "cutover_config"


class FencedOut(Exception):
    """A fenced write found another epoch in the lease row: this member is no longer the leader.

    Deliberately *not* a :class:`~migration.store_sql.StateStoreError`: a write refused by the
    fence must be dropped, never buffered and retried.
    """


@dataclass(frozen=True)
class Fence:
    """The lease a controller write is conditional on."""

    holder: str
    epoch: int


@dataclass(frozen=True)
class Lease:
    """The lease row as one call left it.

    ``held``: the caller holds it (acquired now or renewed). ``remaining_s``: time to expiry by the
    database clock (<= 0: expired). ``holder`` is None when nobody ever took it.
    """

    holder: str | None
    epoch: int
    held: bool
    remaining_s: float


@dataclass(frozen=True)
class ConfigSnapshot:
    """One version of what every data-plane process applies.

    ``data`` (JSON)::

        {"weights": {route: {"bps": int, "actor": str, "reason": str | None}},
         "faults": {backend: FaultSpec.to_data() | None},
         "shadow": {route: percent}}
    """

    version: int
    data: dict[str, Any]


@dataclass(frozen=True)
class ReplicaRow:
    """One member's last heartbeat: ``info`` as it published it, ``age_s`` by the database clock."""

    replica: str
    info: dict[str, Any]
    age_s: float


@dataclass(frozen=True)
class EvidenceRow:
    """One published window bucket (``id`` grows; a replaced row comes back under a new id)."""

    id: int
    replica: str
    route: str
    tag: int
    payload: str


class ClusterStore(Protocol):
    """The cluster tables of a shared store; every call is atomic and bounded in time."""

    #: When set, controller writes (``commit``, ``save_weight``, fenced ``update_config``) check
    #: it inside their transaction and raise :class:`FencedOut` on another epoch.
    fence: Fence | None

    def acquire_lease(self, holder: str, ttl_s: float) -> Lease:
        """Take the lease if free or expired (epoch + 1), renew it if ``holder`` has it."""
        ...

    def release_lease(self, holder: str, epoch: int) -> None:
        """Let the lease expire now, if ``holder`` still has it at ``epoch``."""
        ...

    def read_lease(self) -> Lease:
        """The lease as it stands (``held`` is always False)."""
        ...

    def read_config(self) -> ConfigSnapshot | None:
        """The newest config snapshot, None before the first."""
        ...

    def update_config(
        self, change: Callable[[dict[str, Any]], dict[str, Any]], *, fenced: bool = False
    ) -> ConfigSnapshot:
        """Apply ``change`` to the newest snapshot's data in one transaction: version + 1,
        NOTIFY."""
        ...

    def heartbeat(self, replica: str, info: dict[str, Any]) -> None:
        """Record that ``replica`` is alive, with what it reports about itself."""
        ...

    def replicas(self, max_age_s: float = 3600.0) -> list[ReplicaRow]:
        """Members heard from within ``max_age_s``, by name."""
        ...

    def load(self, route: str) -> MigrationState | None:
        """The stored migration state of ``route`` (the state store's own read)."""
        ...

    def add_events(self, events: Sequence[Event]) -> None:
        """Append events outside any state change, unfenced (a replica's own report)."""
        ...

    def events(self, route: str | None = None, limit: int = 100) -> list[Event]:
        """The newest ``limit`` events (of ``route``), oldest first."""
        ...

    def publish_evidence(self, replica: str, rows: Sequence[tuple[str, int, str]]) -> None:
        """Store ``(route, tag, payload)`` buckets of ``replica``; a repeated key with another
        payload replaces the stored row under a new id, with the same payload it is ignored."""
        ...

    def evidence_after(self, last_id: int, limit: int = 5000) -> list[EvidenceRow]:
        """Evidence rows with ``id > last_id``, oldest first."""
        ...

    def prune_evidence(self, before_tag: int) -> None:
        """Delete buckets older than ``before_tag``."""
        ...


class Role(enum.Enum):
    """What one gateway process does in a cluster (``CutoverRuntime(role=...)``).

    * ``SOLO`` — today's single process: data plane, admin API and controller over its own windows,
      no cluster tables (SQLite, ``workers: 1``).
    * ``MEMBER`` — one process of a replica with a shared store: data plane and admin API; publishes
      its evidence, follows the config snapshot, may win the lease and run the controller.
    * ``PRIMARY`` — the supervisor of ``--workers N`` on one host: admin API (with every worker's
      metrics), may lead; no public listener.
    * ``WORKER`` — one data-plane process under a primary: public listener (``SO_REUSEPORT``), a
      loopback metrics-only admin listener on an ephemeral port, publishes evidence, follows.
    """

    SOLO = "solo"
    MEMBER = "member"
    PRIMARY = "primary"
    WORKER = "worker"

    @property
    def serves(self) -> bool:
        """Has a public listener (a data plane)."""
        return self is not Role.PRIMARY

    @property
    def may_lead(self) -> bool:
        """Competes for the lease and runs the controller when it holds it."""
        return self in (Role.MEMBER, Role.PRIMARY)

    @property
    def clustered(self) -> bool:
        """Uses the cluster tables (evidence, lease, config snapshot)."""
        return self is not Role.SOLO
