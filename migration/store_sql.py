"""The SQL both state stores share: the schema, its version, and every statement of the protocol.

SQLite (:class:`~migration.store.SQLiteStore`) and PostgreSQL
(:class:`~migration.store_postgres.PostgresStore`) keep the same tables and answer the
:class:`~migration.store.StateStore` protocol with the same statements (and, through
:class:`~migration.cluster.store.ClusterSqlStore`, the cluster tables' protocol). What differs is
only how a statement reaches the database — a local file under a lock, or a connection behind a
deadline — so :class:`SqlStore` holds the statements and a subclass supplies two primitives: run a
function in one transaction (:meth:`SqlStore._transaction`) and run one read
(:meth:`SqlStore._read`). Written with ``?`` placeholders; :class:`Dialect` turns them into
psycopg's ``%s``.

The schema is versioned (``schema_version``, one row): opening a store at an older version applies
the missing steps of :data:`MIGRATIONS` in the same transaction that bumps the version; a store
written by a newer gateway is refused (:class:`StateStoreError`), because an older gateway writing
rows it does not fully understand could lose what the newer one stored — the same rule as
Alembic's "can't locate revision" refusal or Flyway's ``validateOnMigrate``. Version 0 is a file
from before versioning (tables, no version row); step 1 is the schema as it was then, made
idempotent; step 2 adds the cluster tables of issue #13 (lease, config snapshot, heartbeats,
evidence); step 3 adds ``step_evidence`` (one row per route: the step's sequential evidence,
so a restart resumes it). A gateway of schema 2 refuses a store a schema-3 gateway has opened:
upgrade every member before (or while) pointing them at one store.

Snapshots older than 15 minutes are thinned at each write (:mod:`migration.snapshot_thinning`),
so the bounded ring covers hours of evaluations, not minutes.

The database's clock is ``{now}`` in a statement (:attr:`Dialect.now`): leases and heartbeats are
timed by it, never by a host's clock.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from migration.snapshot_thinning import THIN_SQL, TIERS
from migration.state import Event, MigrationState, SavedEvidence, Snapshot

__all__ = [
    "MIGRATIONS",
    "POSTGRES",
    "SCHEMA_VERSION",
    "SQLITE",
    "Dialect",
    "Execute",
    "SqlStore",
    "StateStoreError",
    "StoreUnreachable",
    "one_line",
]

T = TypeVar("T")


class StateStoreError(Exception):
    """The state store cannot be opened, read or written (the message is one line)."""


class StoreUnreachable(StateStoreError):
    """The store's server did not answer (refused, timed out, connection lost) — not a wrong
    password, a bad row or a newer schema, which an answering server reports."""


class Execute(Protocol):
    """Run one statement inside the current transaction; returns the rows it produced."""

    def __call__(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...


@dataclass(frozen=True)
class Dialect:
    """The few words in which SQLite and PostgreSQL differ for this schema."""

    name: str
    serial: str  # an auto-increment primary key
    real: str  # a float column
    schema_lock: str  # serialises concurrent schema checks/migrations ("" when BEGIN already does)
    now: str  # the database's clock, seconds since the epoch (a float expression)
    row_lock: str  # appended to a SELECT that locks its rows until commit ("" when BEGIN did)
    append_lock: str  # serialises inserters so ids commit in id order ("" when BEGIN does)
    notify: str  # announces (channel, payload) at commit ("" where there is no LISTEN)

    def sql(self, text: str) -> str:
        """``text`` with this dialect's placeholders, column types and clock."""
        text = text.replace("{serial}", self.serial).replace("{real}", self.real)
        text = text.replace("{now}", self.now)
        return text if self.name == "sqlite" else text.replace("?", "%s")


SQLITE = Dialect(
    name="sqlite",
    serial="INTEGER PRIMARY KEY AUTOINCREMENT",
    real="REAL",
    schema_lock="",
    now="((julianday('now') - 2440587.5) * 86400.0)",
    row_lock="",  # BEGIN IMMEDIATE already holds the write lock of the whole file
    append_lock="",
    notify="",
)
POSTGRES = Dialect(
    name="postgresql",
    serial="BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
    real="DOUBLE PRECISION",
    schema_lock="SELECT pg_advisory_xact_lock(7275611)",  # any constant: this schema's lock id
    # clock_timestamp(), not now(): now() is the transaction's start, before any lock wait.
    now="CAST(extract(epoch FROM clock_timestamp()) AS DOUBLE PRECISION)",
    row_lock=" FOR UPDATE",
    append_lock="SELECT pg_advisory_xact_lock(7275612)",
    notify="SELECT pg_notify(?, ?)",
)

#: Step ``n`` (1-based) brings a store from version ``n - 1`` to ``n``; every step is idempotent.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        "CREATE TABLE IF NOT EXISTS migration_state (route TEXT PRIMARY KEY, phase TEXT NOT NULL,"
        " step_index INTEGER NOT NULL, weight_bps INTEGER NOT NULL, state_json TEXT NOT NULL,"
        " updated_at {real} NOT NULL)",
        "CREATE TABLE IF NOT EXISTS migration_event (id {serial}, route TEXT NOT NULL,"
        " at {real} NOT NULL, kind TEXT NOT NULL, event_json TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS migration_event_route ON migration_event (route, id)",
        "CREATE TABLE IF NOT EXISTS migration_snapshot (id {serial}, route TEXT NOT NULL,"
        " at {real} NOT NULL, snapshot_json TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS migration_snapshot_route ON migration_snapshot (route, id)",
        "CREATE TABLE IF NOT EXISTS route_weight (route TEXT PRIMARY KEY,"
        " weight_bps INTEGER NOT NULL)",
    ),
    # 2: the cluster tables (issue #13; statements in migration.cluster.store).
    (
        "CREATE TABLE IF NOT EXISTS cluster_lease (name TEXT PRIMARY KEY, holder TEXT,"
        " epoch BIGINT NOT NULL, expires_at {real} NOT NULL)",
        "CREATE TABLE IF NOT EXISTS cluster_config (id INTEGER PRIMARY KEY CHECK (id = 1),"
        " version BIGINT NOT NULL, data_json TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS cluster_replica (replica TEXT PRIMARY KEY,"
        " info_json TEXT NOT NULL, seen_at {real} NOT NULL)",
        "CREATE TABLE IF NOT EXISTS cluster_evidence (id {serial}, replica TEXT NOT NULL,"
        " route TEXT NOT NULL, tag BIGINT NOT NULL, payload TEXT NOT NULL,"
        " UNIQUE (replica, route, tag))",
        "CREATE INDEX IF NOT EXISTS cluster_evidence_tag ON cluster_evidence (tag)",
    ),
    # 3: each route's step evidence, saved so a restart resumes it (issue #14).
    (
        "CREATE TABLE IF NOT EXISTS step_evidence (route TEXT PRIMARY KEY, step TEXT NOT NULL,"
        " payload TEXT NOT NULL, saved_at {real} NOT NULL)",
    ),
)

#: The version this gateway writes and understands.
SCHEMA_VERSION = len(MIGRATIONS)

_UPSERT_STATE = (
    "INSERT INTO migration_state (route, phase, step_index, weight_bps, state_json, updated_at)"
    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(route) DO UPDATE SET phase=excluded.phase,"
    " step_index=excluded.step_index, weight_bps=excluded.weight_bps,"
    " state_json=excluded.state_json, updated_at=excluded.updated_at"
)
_UPSERT_WEIGHT = (
    "INSERT INTO route_weight (route, weight_bps) VALUES (?, ?)"
    " ON CONFLICT(route) DO UPDATE SET weight_bps=excluded.weight_bps"
)
_UPSERT_EVIDENCE = (
    "INSERT INTO step_evidence (route, step, payload, saved_at) VALUES (?, ?, ?, ?)"
    " ON CONFLICT(route) DO UPDATE SET step=excluded.step, payload=excluded.payload,"
    " saved_at=excluded.saved_at"
)
_INSERT_EVENT = "INSERT INTO migration_event (route, at, kind, event_json) VALUES (?, ?, ?, ?)"
_INSERT_SNAPSHOT = "INSERT INTO migration_snapshot (route, at, snapshot_json) VALUES (?, ?, ?)"


def one_line(exc: BaseException) -> str:
    """The first line of an exception's message (drivers add hints and carets on later lines)."""
    text = str(exc).strip().splitlines()
    return text[0].strip() if text else type(exc).__name__


class SqlStore:
    """The :class:`~migration.store.StateStore` statements over a subclass's two primitives."""

    dialect: Dialect
    max_snapshots: int
    max_events: int

    # -- the two primitives a subclass provides ---------------------------------------------------

    def _transaction(self, work: Callable[[Execute], T]) -> T:
        """Run ``work`` in one transaction: committed if it returns, rolled back if it raises."""
        raise NotImplementedError

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of one read-only statement (written with ``?``)."""
        raise NotImplementedError

    def _check_fence(self, x: Execute) -> None:
        """Called first inside every controller write (``commit``, ``save_weight``).

        Nothing here; :class:`~migration.cluster.store.ClusterSqlStore` checks its lease fence.
        """

    # -- schema -----------------------------------------------------------------------------------

    def _open_schema(self, where: str) -> None:
        """Create or migrate the schema to :data:`SCHEMA_VERSION`, then read every row once.

        Reading every row at open means a row we cannot parse stops start-up with one line,
        instead of failing the first controller step.
        """

        def migrate(x: Execute) -> int:
            if self.dialect.schema_lock:
                x(self.dialect.schema_lock)
            x("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            rows = x("SELECT MAX(version) FROM schema_version")
            found = int(rows[0][0] or 0) if rows else 0
            if found > SCHEMA_VERSION:
                return found
            for step in MIGRATIONS[found:]:
                for statement in step:
                    x(self.dialect.sql(statement))
            if found < SCHEMA_VERSION:
                x("DELETE FROM schema_version")
                x(
                    self.dialect.sql("INSERT INTO schema_version (version) VALUES (?)"),
                    [SCHEMA_VERSION],
                )
            return found

        found = self._transaction(migrate)
        if found > SCHEMA_VERSION:
            raise StateStoreError(
                f"state store {where}: schema version {found} is newer than this gateway's "
                f"{SCHEMA_VERSION}; upgrade the gateway"
            )
        try:
            self.load_all()
            self.load_weights()
        except (ValueError, KeyError, TypeError) as exc:
            raise StateStoreError(f"state store {where}: {one_line(exc)}") from None

    def schema_version(self) -> int:
        """The version recorded in the store."""
        rows = self._read("SELECT MAX(version) FROM schema_version")
        return int(rows[0][0] or 0) if rows else 0

    # -- writing ----------------------------------------------------------------------------------

    def commit(
        self,
        state: MigrationState,
        events: Sequence[Event] = (),
        snapshot: Snapshot | None = None,
    ) -> None:
        """Write ``state``, its ``events`` and ``snapshot`` in one transaction."""
        row = (
            state.route,
            state.phase.value,
            state.step_index,
            state.weight_bps,
            json.dumps(state.to_dict()),
            state.updated_at,
        )
        # Serialise before the transaction: a value json cannot encode fails with nothing begun.
        event_rows = [(e.route, e.at, e.kind, json.dumps(e.to_dict())) for e in events]
        snap_row = (
            None
            if snapshot is None
            else (snapshot.route, snapshot.at, json.dumps(snapshot.to_dict()))
        )

        def work(x: Execute) -> None:
            self._check_fence(x)
            x(self.dialect.sql(_UPSERT_STATE), row)
            self._insert_events(x, state.route, event_rows)
            if snap_row is not None:
                x(self.dialect.sql(_INSERT_SNAPSHOT), snap_row)
                for older, bucket in TIERS:
                    cutoff = snap_row[1] - older
                    x(
                        self.dialect.sql(THIN_SQL),
                        (snap_row[0], cutoff, snap_row[0], cutoff, bucket),
                    )
                self._prune(x, "migration_snapshot", state.route, self.max_snapshots)

        self._transaction(work)

    def save_weight(self, route: str, weight_bps: int, events: Sequence[Event] = ()) -> None:
        """Store the manual weight of a route without a migration, with its events, atomically."""
        event_rows = [(e.route, e.at, e.kind, json.dumps(e.to_dict())) for e in events]

        def work(x: Execute) -> None:
            self._check_fence(x)
            x(self.dialect.sql(_UPSERT_WEIGHT), (route, weight_bps))
            self._insert_events(x, route, event_rows)

        self._transaction(work)

    def save_evidence(self, saved: SavedEvidence) -> None:
        """Replace the route's saved step evidence (fenced: a deposed leader's save is refused)."""
        row = (saved.route, saved.step, saved.payload, saved.saved_at)

        def work(x: Execute) -> None:
            self._check_fence(x)
            x(self.dialect.sql(_UPSERT_EVIDENCE), row)

        self._transaction(work)

    def add_events(self, events: Sequence[Event]) -> None:
        """Append ``events`` on their own, unfenced: a replica's report (a local rollback it made
        while the store was unreachable), never a controller decision."""
        rows = [(e.route, e.at, e.kind, json.dumps(e.to_dict())) for e in events]

        def work(x: Execute) -> None:
            for route in sorted({r[0] for r in rows}):
                self._insert_events(x, route, [r for r in rows if r[0] == route])

        self._transaction(work)

    def _insert_events(self, x: Execute, route: str, rows: Sequence[tuple[Any, ...]]) -> None:
        for row in rows:
            x(self.dialect.sql(_INSERT_EVENT), row)
        if rows:
            self._prune(x, "migration_event", route, self.max_events)

    def _prune(self, x: Execute, table: str, route: str, keep: int) -> None:
        x(
            self.dialect.sql(
                f"DELETE FROM {table} WHERE route = ? AND id <= "  # table is one of two constants
                f"(SELECT id FROM {table} WHERE route = ? ORDER BY id DESC LIMIT 1 OFFSET ?)"
            ),
            (route, route, keep),
        )

    # -- reading ----------------------------------------------------------------------------------

    def load(self, route: str) -> MigrationState | None:
        """The stored state of ``route``, if any."""
        rows = self._read("SELECT state_json FROM migration_state WHERE route = ?", (route,))
        return MigrationState.from_dict(json.loads(rows[0][0])) if rows else None

    def load_all(self) -> list[MigrationState]:
        """Every stored route's state, by route name."""
        rows = self._read("SELECT state_json FROM migration_state ORDER BY route")
        return [MigrationState.from_dict(json.loads(r[0])) for r in rows]

    def load_evidence(self, route: str) -> SavedEvidence | None:
        """The route's last saved step evidence, of whichever step saved it."""
        rows = self._read(
            "SELECT step, payload, saved_at FROM step_evidence WHERE route = ?", (route,)
        )
        if not rows:
            return None
        step, payload, saved_at = rows[0]
        return SavedEvidence(route, str(step), str(payload), float(saved_at))

    def load_weights(self) -> dict[str, int]:
        """Manual weights of routes without a migration (a migration's state carries its own)."""
        rows = self._read("SELECT route, weight_bps FROM route_weight")
        return {str(route): int(bps) for route, bps in rows}

    def events(self, route: str | None = None, limit: int = 100) -> list[Event]:
        """The latest ``limit`` events (of ``route``, or of all routes), oldest first."""
        if route is None:
            rows = self._read(
                "SELECT event_json FROM migration_event ORDER BY id DESC LIMIT ?", (limit,)
            )
        else:
            rows = self._read(
                "SELECT event_json FROM migration_event WHERE route = ? ORDER BY id DESC LIMIT ?",
                (route, limit),
            )
        return [Event.from_dict(json.loads(r[0])) for r in reversed(rows)]

    def snapshots(self, route: str, limit: int = 1000) -> list[Snapshot]:
        """The latest ``limit`` snapshots of ``route``, oldest first."""
        rows = self._read(
            "SELECT snapshot_json FROM migration_snapshot WHERE route = ? ORDER BY id DESC LIMIT ?",
            (route, limit),
        )
        return [Snapshot.from_dict(json.loads(r[0])) for r in reversed(rows)]
