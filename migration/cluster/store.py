"""The cluster tables of a SQL state store: lease, fence, config snapshot, heartbeats, evidence.

:class:`ClusterSqlStore` is :class:`~migration.store_sql.SqlStore` plus the
:class:`~migration.cluster.seams.ClusterStore` statements, over the same two primitives (one
transaction, one read), so SQLite (workers on one host) and PostgreSQL (replicas) answer alike. The
tables are step 2 of :data:`~migration.store_sql.MIGRATIONS`: one schema, declared once.

Decisions:

* Every time here is the database's clock (``{now}``: ``clock_timestamp()`` on PostgreSQL,
  ``julianday('now')`` on SQLite), read inside the transaction that uses it, so members whose host
  clocks disagree still agree on who holds the lease and how old a heartbeat is.
* Serialisation: on PostgreSQL the lease row and the config row are locked ``FOR UPDATE`` (the
  lease row is first created by ``INSERT ... ON CONFLICT DO NOTHING`` so there is always a row to
  lock); on SQLite ``BEGIN IMMEDIATE`` already serialises every writer. Fenced writes lock the lease
  row before anything else and a takeover locks it too, so a write either commits before the new
  epoch is granted or sees the new epoch and raises :class:`FencedOut` — never lands after.
* The fence checks holder and epoch, not expiry: an expired lease nobody took over still has the
  holder's epoch, and its writes cannot race anyone. The leader itself stops acting before its
  lease can expire; a lease it gets back after expiry has a new epoch
  (:mod:`migration.cluster.lease_decision`), which fences what it had in flight.
* The config is one row (``id = 1``), no history: members only ever need the newest version, and
  the events table already records who changed what. Before the first update there is no row
  (:meth:`read_config` is None); the first update starts from
  ``{"weights": {}, "faults": {}, "shadow": {}}``.
* Evidence rows are replaced, not duplicated: a row of a ``(replica, route, tag)`` already stored
  with *another* payload (a newer partial of the bucket in progress, or the completed bucket after
  its partials; :mod:`migration.cluster.exporter`) is deleted and inserted again, so it gets a new
  id a reader paging by id sees; the same payload again (a resend after a lost acknowledgement)
  changes nothing. No schema change: which rows are partial is in the payload, and ordering (never
  a partial after its completed bucket) is the one publisher's per replica. Identity (PostgreSQL)
  and ``AUTOINCREMENT`` (SQLite) never hand out an id twice, so a replaced row's id is new.
* Evidence ids must grow in commit order, or a reader paging by ``id > last_id`` would skip a row
  committed late with a smaller id. PostgreSQL hands out identity values before commit, so
  publishers take one transaction-scoped advisory lock: a few milliseconds of serialisation per
  replica per second. SQLite's writers are serial already.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from migration.cluster.lease_decision import LeaseRow, decide_lease, lease_as_read, release
from migration.cluster.seams import (
    CONFIG_CHANNEL,
    LEASE_NAME,
    ConfigSnapshot,
    EvidenceRow,
    Fence,
    FencedOut,
    Lease,
    ReplicaRow,
)
from migration.store_sql import Execute, SqlStore

__all__ = ["EMPTY_CONFIG", "EVIDENCE_CHUNK", "REPLICA_FORGET_S", "ClusterSqlStore", "empty_config"]

#: A heartbeat older than this is deleted by the next heartbeat of anyone.
REPLICA_FORGET_S = 3600.0
#: Evidence rows per statement (SQLite allows 32766 parameters, 4 per row, and an expression
#: depth of 1000: the replacing DELETE ORs one term per row).
EVIDENCE_CHUNK = 250
#: The config data before the first update.
EMPTY_CONFIG: dict[str, Any] = {"weights": {}, "faults": {}, "shadow": {}}


def empty_config() -> dict[str, Any]:
    """A fresh copy of :data:`EMPTY_CONFIG`."""
    return {key: {} for key in EMPTY_CONFIG}


class ClusterSqlStore(SqlStore):
    """A :class:`~migration.store_sql.SqlStore` that is also a :class:`ClusterStore`."""

    #: When set, ``commit``, ``save_weight`` and ``update_config(fenced=True)`` are fenced.
    fence: Fence | None = None

    # -- the clock --------------------------------------------------------------------------------

    def db_time(self) -> float:
        """The database's clock, seconds since the epoch."""
        return float(self._read("SELECT {now}")[0][0])

    def _now(self, x: Execute) -> float:
        return float(x(self.dialect.sql("SELECT {now}"))[0][0])

    # -- lease and fence --------------------------------------------------------------------------

    def _lock_lease(self, x: Execute) -> LeaseRow | None:
        rows = x(
            self.dialect.sql(
                "SELECT holder, epoch, expires_at FROM cluster_lease WHERE name = ?"
                + self.dialect.row_lock
            ),
            (LEASE_NAME,),
        )
        if not rows:
            return None
        holder, epoch, expires_at = rows[0]
        return LeaseRow(None if holder is None else str(holder), int(epoch), float(expires_at))

    def acquire_lease(self, holder: str, ttl_s: float) -> Lease:
        """Take the lease if free or expired (epoch + 1), renew it if ``holder`` has it."""

        def work(x: Execute) -> Lease:
            if self.dialect.row_lock:  # a row to lock, even before the first holder
                x(
                    self.dialect.sql(
                        "INSERT INTO cluster_lease (name, holder, epoch, expires_at)"
                        " VALUES (?, NULL, 0, 0) ON CONFLICT (name) DO NOTHING"
                    ),
                    (LEASE_NAME,),
                )
            row = self._lock_lease(x)
            written, lease = decide_lease(row, holder, ttl_s, self._now(x))
            if written is not None:
                self._write_lease(x, written)
            return lease

        return self._transaction(work)

    def _write_lease(self, x: Execute, row: LeaseRow) -> None:
        x(
            self.dialect.sql(
                "INSERT INTO cluster_lease (name, holder, epoch, expires_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,"
                " epoch = excluded.epoch, expires_at = excluded.expires_at"
            ),
            (LEASE_NAME, row.holder, row.epoch, row.expires_at),
        )

    def release_lease(self, holder: str, epoch: int) -> None:
        """Let the lease expire now, if ``holder`` still has it at ``epoch``."""

        def work(x: Execute) -> None:
            written = release(self._lock_lease(x), holder, epoch, self._now(x))
            if written is not None:
                self._write_lease(x, written)

        self._transaction(work)

    def read_lease(self) -> Lease:
        """The lease as it stands (``held`` is always False)."""
        rows = self._read(
            "SELECT holder, epoch, expires_at, {now} FROM cluster_lease WHERE name = ?",
            (LEASE_NAME,),
        )
        if not rows:
            return lease_as_read(None, 0.0)
        holder, epoch, expires_at, now = rows[0]
        row = LeaseRow(None if holder is None else str(holder), int(epoch), float(expires_at))
        return lease_as_read(row, float(now))

    def _check_fence(self, x: Execute) -> None:
        """Raise :class:`FencedOut` unless the lease row still names :attr:`fence`."""
        fence = self.fence
        if fence is None:
            return
        row = self._lock_lease(x)
        if row is None or row.holder != fence.holder or row.epoch != fence.epoch:
            found = "no lease" if row is None else f"epoch {row.epoch} of {row.holder}"
            raise FencedOut(f"fenced: {fence.holder} writes at epoch {fence.epoch}, found {found}")

    # -- config snapshot --------------------------------------------------------------------------

    def read_config(self) -> ConfigSnapshot | None:
        """The newest config snapshot, None before the first."""
        rows = self._read("SELECT version, data_json FROM cluster_config WHERE id = 1")
        return ConfigSnapshot(int(rows[0][0]), json.loads(rows[0][1])) if rows else None

    def update_config(
        self, change: Callable[[dict[str, Any]], dict[str, Any]], *, fenced: bool = False
    ) -> ConfigSnapshot:
        """Apply ``change`` to the newest snapshot's data in one transaction: version + 1, NOTIFY.

        ``change`` runs inside the transaction (on PostgreSQL, on the store's worker thread) with
        the row locked, so concurrent updaters apply one after the other and lose nothing; it gets
        a copy it may modify and returns the new data. An exception from it writes nothing.
        """

        def work(x: Execute) -> ConfigSnapshot:
            if fenced:
                self._check_fence(x)
            if self.dialect.row_lock:  # a row to lock; rolled back with the rest on failure
                x(
                    self.dialect.sql(
                        "INSERT INTO cluster_config (id, version, data_json) VALUES (1, 0, ?)"
                        " ON CONFLICT (id) DO NOTHING"
                    ),
                    (json.dumps(EMPTY_CONFIG),),
                )
            rows = x(
                self.dialect.sql(
                    "SELECT version, data_json FROM cluster_config WHERE id = 1"
                    + self.dialect.row_lock
                )
            )
            version, data = (int(rows[0][0]), json.loads(rows[0][1])) if rows else (0, None)
            new = change(empty_config() if data is None or version == 0 else data)
            text = json.dumps(new)
            x(
                self.dialect.sql(
                    "INSERT INTO cluster_config (id, version, data_json) VALUES (1, ?, ?)"
                    " ON CONFLICT (id) DO UPDATE SET version = excluded.version,"
                    " data_json = excluded.data_json"
                ),
                (version + 1, text),
            )
            if self.dialect.notify:
                x(self.dialect.sql(self.dialect.notify), (CONFIG_CHANNEL, str(version + 1)))
            return ConfigSnapshot(version + 1, json.loads(text))

        return self._transaction(work)

    # -- heartbeats -------------------------------------------------------------------------------

    def heartbeat(self, replica: str, info: dict[str, Any]) -> None:
        """Record that ``replica`` is alive now (database clock); forget members silent for 1 h."""
        text = json.dumps(info)

        def work(x: Execute) -> None:
            now = self._now(x)
            x(
                self.dialect.sql(
                    "INSERT INTO cluster_replica (replica, info_json, seen_at) VALUES (?, ?, ?)"
                    " ON CONFLICT (replica) DO UPDATE SET info_json = excluded.info_json,"
                    " seen_at = excluded.seen_at"
                ),
                (replica, text, now),
            )
            x(
                self.dialect.sql("DELETE FROM cluster_replica WHERE seen_at < ?"),
                (now - REPLICA_FORGET_S,),
            )

        self._transaction(work)

    def replicas(self, max_age_s: float = 3600.0) -> list[ReplicaRow]:
        """Members heard from within ``max_age_s`` (database clock), sorted by name."""
        rows = self._read(
            "SELECT r.replica, r.info_json, c.now - r.seen_at FROM cluster_replica r,"
            " (SELECT {now} AS now) c WHERE r.seen_at >= c.now - ?",
            (max_age_s,),
        )
        found = [ReplicaRow(str(name), json.loads(info), float(age)) for name, info, age in rows]
        return sorted(found, key=lambda row: row.replica)  # Python's order, not a collation's

    # -- evidence ---------------------------------------------------------------------------------

    def publish_evidence(self, replica: str, rows: Sequence[tuple[str, int, str]]) -> None:
        """Store ``(route, tag, payload)`` buckets of ``replica``: a key stored with another
        payload is replaced (a new id), with the same payload left as it is."""
        values = [(replica, str(route), int(tag), str(payload)) for route, tag, payload in rows]
        if not values:
            return

        def work(x: Execute) -> None:
            if self.dialect.append_lock:
                x(self.dialect.append_lock)
            for start in range(0, len(values), EVIDENCE_CHUNK):
                chunk = values[start : start + EVIDENCE_CHUNK]
                x(
                    self.dialect.sql(
                        "DELETE FROM cluster_evidence WHERE replica = ? AND ("
                        + " OR ".join(["(route = ? AND tag = ? AND payload <> ?)"] * len(chunk))
                        + ")"
                    ),
                    [replica, *(field for row in chunk for field in row[1:])],
                )
                x(
                    self.dialect.sql(
                        "INSERT INTO cluster_evidence (replica, route, tag, payload) VALUES "
                        + ", ".join(["(?, ?, ?, ?)"] * len(chunk))
                        + " ON CONFLICT (replica, route, tag) DO NOTHING"
                    ),
                    [field for row in chunk for field in row],
                )

        self._transaction(work)

    def evidence_after(self, last_id: int, limit: int = 5000) -> list[EvidenceRow]:
        """Evidence rows with ``id > last_id``, oldest first."""
        rows = self._read(
            "SELECT id, replica, route, tag, payload FROM cluster_evidence WHERE id > ?"
            " ORDER BY id LIMIT ?",
            (last_id, limit),
        )
        return [
            EvidenceRow(int(i), str(replica), str(route), int(tag), str(payload))
            for i, replica, route, tag, payload in rows
        ]

    def prune_evidence(self, before_tag: int) -> None:
        """Delete buckets older than ``before_tag``."""
        self._transaction(
            lambda x: x(
                self.dialect.sql("DELETE FROM cluster_evidence WHERE tag < ?"), (before_tag,)
            )
        )
