"""One cluster member's loops: follow the snapshot, publish evidence, lead when holding the lease.

Three coroutines on the gateway's event loop; every store call runs on a thread
(``asyncio.to_thread``), so a slow or frozen database never stalls the data plane, and what touches
the gateway state (applying a snapshot, the local guard, the controller's step) runs back on the
loop, as on one process.

* **follow** (every process): read the snapshot when NOTIFY wakes it, at least every
  :data:`POLL_S`; apply it if newer; publish the weights lowered while fail-static first.
* **beat** (every process, four times a second): merge its own window buckets into its merged
  windows and publish them — each completed bucket once, the bucket in progress as a partial
  (:mod:`migration.cluster.exporter`); once a second the heartbeat (role, applied version,
  fail-static, in-flight ages, admin URL) and the :class:`~migration.cluster.guard.LocalGuard`.
* **lead** (members that may lead): renew or take the lease every ``renew_s``; merge every replica's
  evidence four times a second (followers too, so a new leader starts with warm windows); while
  holding the lease, run the controller every ``interval_s``. A write refused by the fence, or the
  lease's margin running out, stops it at once.

Both loops keep time with the wall clock's quarter seconds (every member's, NTP-synchronised):
beats at :data:`BEAT_PHASE_S` past each quarter, so a completed bucket is published ~20 ms after
its second ends rather than anywhere in the next quarter second; the leader reads at
:data:`READ_PHASE_S`, after the members' publications, so its evaluation finds the bucket that
just ended settled (:meth:`~migration.cluster.merged.MergedWindows.settled`). A clock skew between
hosts only moves a member's beats, never stops them; the store calls run on threads and fail
within the store's call timeout (0.25 s on PostgreSQL), so a slow or absent database delays a
publication, never the gateway's loop, and a failed one is sent again with the next beat.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

import structlog

from migration.cluster.config_watch import ConfigWatcher
from migration.cluster.exporter import BucketExporter
from migration.cluster.follower import ConfigFollower
from migration.cluster.guard import LocalGuard
from migration.cluster.inflight import MergedInflight
from migration.cluster.leader import LeaderElector
from migration.cluster.merged import MergedWindows
from migration.cluster.metrics import ClusterMetrics
from migration.cluster.seams import ClusterStore, EvidenceRow, FencedOut, ReplicaRow, Role
from migration.cluster.weights import publish_local_changes
from migration.controller import MigrationController
from migration.store_sql import StateStoreError

__all__ = ["BEAT_PHASE_S", "POLL_S", "READ_PHASE_S", "ClusterMember", "until_phase"]

log = structlog.get_logger("cutover.cluster")

#: Longest time between two reads of the snapshot (NOTIFY usually wakes the follower sooner).
POLL_S = 0.5
#: Beats per second: own buckets merged and published, the leader's evidence read (the
#: heartbeat and the local guard run once a second).
BEATS_PER_PUBLISH = 4
#: Evidence older than this is pruned by the leader (the windows read at most 60 s).
KEEP_EVIDENCE_S = 120
#: Where in each quarter second of the wall clock a member publishes (just after a bucket ends).
BEAT_PHASE_S = 0.02
#: Where in each quarter second the leader reads the evidence (after the publications).
READ_PHASE_S = 0.1


def until_phase(now: float, phase_s: float, period_s: float = 1.0 / BEATS_PER_PUBLISH) -> float:
    """Seconds from ``now`` to the next ``phase_s`` past a multiple of ``period_s``, at least a
    fifth of a period (a loop that ran late skips ahead instead of running twice at once)."""
    wait = (phase_s - now) % period_s
    return wait if wait >= period_s / 5 else wait + period_s


class ClusterMember:
    """The loops of one member; :meth:`run` until ``stop`` is set."""

    def __init__(
        self,
        *,
        role: Role,
        replica: str,
        store: ClusterStore,
        follower: ConfigFollower,
        metrics: ClusterMetrics,
        info: Callable[[], dict[str, Any]],
        watcher: ConfigWatcher | None = None,
        exporter: BucketExporter | None = None,
        guard: LocalGuard | None = None,
        elector: LeaderElector | None = None,
        controller: MigrationController | None = None,
        merged: MergedWindows | None = None,
        merged_inflight: MergedInflight | None = None,
        interval_s: float = 5.0,
        clock: Callable[[], float] = time.time,
        on_term: Callable[[], object] | None = None,
    ) -> None:
        """``on_term``: called (on the loop) after each won election, once the controller
        recovered."""
        self.role = role
        self.replica = replica
        self.store = store
        self.follower = follower
        self.metrics = metrics
        self.info = info
        self.watcher = watcher
        self.exporter = exporter
        self.guard = guard
        self.elector = elector
        self.controller = controller
        self.merged = merged
        self.merged_inflight = merged_inflight
        self.interval_s = interval_s
        self.clock = clock
        self.on_term = on_term
        self.members: list[ReplicaRow] = []
        self.members_at = time.monotonic()  # when ``members`` was read (their ages are as of then)
        self._last_id = 0
        self._term = 0

    @property
    def leading(self) -> bool:
        """This member holds the lease and may act on it now."""
        return self.elector is not None and self.elector.leading

    def leader_refusal(self) -> str | None:
        """None when this member may run migration actions; else why not and who can (a 409)."""
        if self.leading:
            return None
        lease = self.elector.last if self.elector is not None else None
        holder = lease.holder if lease is not None and lease.remaining_s > 0 else None
        if not self.follower.store_up:
            return (
                f"replica {self.replica} cannot run migration actions: the shared state store is "
                f"unreachable ({self.follower.last_error}); no member leads until it returns"
            )
        if holder is None:
            return (
                f"replica {self.replica} is not the leader and no member leads right now "
                "(an election takes at most one lease TTL): retry shortly"
            )
        admin = next((m.info.get("admin") for m in self.members if m.replica == holder), None)
        where = f" at {admin}" if admin else ""
        return (
            f"replica {self.replica} is not the leader: migration actions run on the leader, "
            f"replica {holder}{where}"
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Run every loop this role has until ``stop``."""
        loops = [self._follow(stop), self._beat(stop)]
        if self.elector is not None and self.controller is not None:
            loops.append(self._lead(stop))
        try:
            await asyncio.gather(*loops)
        finally:
            if self.elector is not None and self.controller is not None:
                self._guarded(self.controller.ledger.save)  # a clean shutdown keeps it
            if self.elector is not None:
                await asyncio.to_thread(self.elector.step_down)

    # -- follow -----------------------------------------------------------------------------------

    async def sync(self) -> None:
        """One read and apply of the snapshot (also the start-up read)."""
        f = self.follower
        if (f.local_changes or f.local_faults) and f.store_up:
            try:
                await asyncio.to_thread(publish_local_changes, self.store, f, self.replica)
            except Exception as exc:
                f.failed(exc)
        snapshot = await asyncio.to_thread(f.read)
        f.apply(snapshot)
        self._gauges()

    async def _follow(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.sync()
            if self.watcher is not None:
                await self.watcher.wait(POLL_S)
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), POLL_S)

    # -- beat -------------------------------------------------------------------------------------

    async def _beat(self, stop: asyncio.Event) -> None:
        tick = 0
        while not stop.is_set():
            try:
                if tick % BEATS_PER_PUBLISH == 0:
                    await self.beat()
                else:
                    await self.publish()
            except Exception:
                log.exception("cluster_beat_failed")
            tick += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), until_phase(self.clock(), BEAT_PHASE_S))

    async def publish(self) -> None:
        """Merge and publish this process' buckets; a store failure is the follower's to count
        (as a failed read is), not an error to log four times a second while the store is down."""
        try:
            await self._publish(self._ingest_own())
        except StateStoreError as exc:
            self.follower.failed(exc)

    async def _publish(self, rows: list[tuple[str, int, str]]) -> None:
        """Send the exported rows to the store, then acknowledge them to the exporter."""
        if not rows:
            return
        await asyncio.to_thread(self.store.publish_evidence, self.replica, rows)
        assert self.exporter is not None
        self.exporter.acknowledge()
        self.metrics.evidence.labels("published").inc(len(rows))

    def _ingest_own(self) -> list[tuple[str, int, str]]:
        """This process' buckets into its merged windows (no store, no round trip).

        Four times a second, so a leader sees its own traffic within ~0.25 s, even while the store
        is unreachable; a row seen again (re-exported until published, or the store's copy of a
        partial already superseded here) is ignored by the merge.
        """
        rows = self.exporter.export(self.clock()) if self.exporter is not None else []
        if rows and self.merged is not None:
            self.merged.ingest([EvidenceRow(0, self.replica, r, tag, p) for r, tag, p in rows])
        return rows

    async def beat(self) -> None:
        """Publish evidence and the heartbeat; run the local guard."""
        if self.guard is not None:
            self.guard.tick()
        rows = self._ingest_own()
        info = {**self.info(), "leading": self.leading, "config_version": self.follower.version}
        info["fail_static"] = self.follower.fail_static
        try:
            await self._publish(rows)
            await asyncio.to_thread(self.store.heartbeat, self.replica, info)
        except Exception as exc:
            self.follower.failed(exc)
        self._gauges()

    def _gauges(self) -> None:
        e = self.elector
        self.metrics.update(
            version=self.follower.version,
            fail_static=self.follower.fail_static,
            store_up=self.follower.store_up,
            leading=self.leading,
            epoch=e.epoch if e else 0,
        )

    # -- lead -------------------------------------------------------------------------------------

    async def _lead(self, stop: asyncio.Event) -> None:
        assert self.elector is not None
        assert self.controller is not None
        elector, controller = self.elector, self.controller
        next_renew = next_step = 0.0
        while not stop.is_set():
            now = time.monotonic()
            if now >= next_renew:
                next_renew = now + elector.renew_s
                await asyncio.to_thread(elector.tick)
            await self.collect()
            lease = elector.last
            if (
                not elector.leading
                and lease is not None
                and lease.holder != self.replica
                and lease.epoch > elector.epoch
                and controller.store.pending
            ):
                controller.store.discard()  # another member leads: the fence refuses these anyway
            if elector.leading and elector.terms != self._term:
                self._term = elector.terms
                next_step = 0.0
                if not elector.continued:  # another member led since: its decisions stand
                    controller.store.discard()
                self._guarded(controller.begin_term)
                if self.on_term is not None:
                    self._guarded(self.on_term)
            if elector.leading and now >= next_step:
                # Half a read early: steps stay on the reads' phase instead of slipping a read.
                next_step = now + self.interval_s - 0.5 / BEATS_PER_PUBLISH
                self._guarded(controller.step)
            self._gauges()
            with contextlib.suppress(TimeoutError):  # evidence within ~0.1 s of its publication
                await asyncio.wait_for(stop.wait(), until_phase(self.clock(), READ_PHASE_S))

    def _guarded(self, action: Callable[[], object]) -> None:
        """Run a controller action as the leader; a refused fence ends the term."""
        assert self.elector is not None
        if not self.elector.leading:  # the margin ran out while we were away
            return
        try:
            action()
        except FencedOut as exc:
            log.warning(
                "fenced_out", replica=self.replica, epoch=self.elector.epoch, error=str(exc)
            )
            self.elector.step_down()
        except Exception:
            log.exception("migration step failed")

    async def collect(self) -> None:
        """Merge the evidence published since the last call; refresh the members' in-flight ages."""
        if self.merged is None:
            return
        now = time.monotonic()
        with_members = now - self.members_at >= 1.0 or not self.members
        try:
            rows, members = await asyncio.to_thread(self._fetch, with_members)
        except Exception as exc:
            self.follower.failed(exc)
            return
        if rows:
            self._last_id = rows[-1].id
            accepted = self.merged.ingest(rows)
            self.metrics.evidence.labels("merged").inc(accepted)
        if members is None:
            return
        self.members, self.members_at = members, now
        stale = 3 * (self.elector.ttl_s if self.elector else 6.0)
        fresh = [m for m in members if m.age_s <= stale]
        self.metrics.replicas.set(len(fresh))
        if self.merged_inflight is not None:
            reports = {m.replica: m.info.get("inflight") or {} for m in fresh if m.age_s <= 3.0}
            self.merged_inflight.update(reports)

    def _fetch(self, with_members: bool) -> tuple[list[Any], list[ReplicaRow] | None]:
        rows: list[Any] = []
        last = self._last_id
        while True:
            batch = self.store.evidence_after(last, 5000)
            rows.extend(batch)
            if len(batch) < 5000:
                break
            last = batch[-1].id
        if not with_members:
            return rows, None
        if self.leading:  # once a second, by the leader only
            self.store.prune_evidence(int(self.clock()) - KEEP_EVIDENCE_S)
        return rows, self.store.replicas(3600.0)
