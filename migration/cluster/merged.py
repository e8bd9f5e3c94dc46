"""The leader's window source: every replica's published buckets, merged.

:class:`MergedWindows` implements :class:`~migration.seams.WindowSource` over evidence rows
(:class:`~migration.cluster.seams.EvidenceRow`, from ``ClusterStore.evidence_after``), so the
controller and :func:`~migration.evidence.read_windows` run unchanged on a cluster. Buckets merge by
adding counts and sketch bucket counts, never by averaging per-replica quantiles: the merged window
of three replicas holds exactly the counts and sketch bins one process would have for the same
attempts (``tests/migration/cluster/test_merged.py`` proves it).

Decided here, and why:

* **Partials are replaceable.** A member publishes its bucket in progress four times a second as a
  *partial* (:mod:`migration.cluster.exporter`), then the completed bucket; each replica's newest
  partial is kept beside the completed sum and replaced, never added
  (:class:`~migration.cluster.slots.Slot`), so nothing counts twice however rows are replayed or
  reordered. A replica killed mid-bucket leaves its last partial: those attempts happened, so they
  stay counted, once.
* **Spans end in the bucket in progress**, as one process' windows do: a span of ``n`` seconds
  covers buckets ``now_tag - n + 1 .. now_tag`` (``now_tag = floor(now / bucket_s)``, ``n = max(1,
  round(min(span_s, window) / bucket_s))``) and reports the same ``span_s`` as
  :meth:`SlidingWindow.stats <migration.windows.SlidingWindow.stats>`. The newest buckets hold the
  replicas' partials, at most a publication plus a read old (~0.5 s), instead of the completed
  buckets only (a bucket plus the trip, 1 to 1.75 s, before partials).
* **Recent attempts** (the "is it reachable at all" check): a process keeps its last 20 attempts of
  the last 10 s; the order of attempts within a bucket does not travel, so the merged answer is the
  newest buckets (partials included), going back until they hold :attr:`recent_min_attempts` (20)
  attempts or :attr:`recent_max_buckets` (10) buckets were taken. Whole seconds, so the count may
  exceed 20 on a busy route; the check is a fraction, and a sudden outage fills the newest second
  first.
* **Settling** (the step's evidence, :meth:`settled`): a bucket counts once, so only when no more
  rows are coming for it: as soon as every replica recently seen on the route is past it, and at
  the latest :attr:`settle_buckets` (2) buckets back
  (:func:`~migration.cluster.slots.settled_through`). A row later than that still counts in the
  windows and totals.
* **Memory** is bounded by the window, not by traffic or time: per route, one merged bucket (with
  the set of replicas in it, and at most :attr:`max_partials` partials) per bucket number from
  ``now_tag - window_buckets`` to ``now_tag +`` :attr:`max_ahead_buckets` (hosts' clocks differ by
  a second or so); older ones are dropped as the clock moves. Routes are capped at ``max_routes``,
  as each member's metrics cap theirs.
* **Totals** (step progress) are monotonic: every well-formed completed row ever ingested counts
  once, also one too old for the window (its attempts still happened); a partial counts what it
  adds to the one it replaces, and its completed row only the rest. A row is identified by
  ``(replica, route, tag)``: a repeat of a row still in the window is ignored (:attr:`duplicates`),
  so re-reading an overlap of the evidence table is harmless there; older rows cannot be checked,
  so the caller reads each row once (``evidence_after(last_id)``). A partial outside the kept bucket
  numbers is ignored (its completed row counts).
* **Operations** travel as keys of their own (``route/operation``, see
  :func:`~migration.operations.op_key`): a member publishes each operation's buckets like a route's,
  and :meth:`routes` lists the routes only, :meth:`operations` a route's operations.
* **Bad rows** — a payload that does not decode, another sketch accuracy, a route past the cap —
  are skipped and counted in :attr:`rejected` (the newest reason in :attr:`last_rejection`); one
  broken replica never stops the merge.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from migration.cluster.evidence import BackendBucket, RouteBucket, decode_bucket
from migration.cluster.seams import EvidenceRow
from migration.cluster.slots import Slot, settled_through
from migration.operations import split_key
from migration.seams import BACKENDS, RateSample
from migration.sketch import DEFAULT_RELATIVE_ACCURACY, LatencySketch
from migration.windows import WindowStats, start_mark

__all__ = ["MergedWindows"]


@dataclass
class _Totals:
    requests: dict[str, int] = field(default_factory=lambda: dict.fromkeys(BACKENDS, 0))
    shadow: int = 0


class MergedWindows:
    """A :class:`~migration.seams.WindowSource` over every replica's evidence rows."""

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        window_buckets: int = 60,
        bucket_s: float = 1.0,
        relative_accuracy: float = DEFAULT_RELATIVE_ACCURACY,
        max_routes: int = 1024,
        recent_min_attempts: int = 20,
        recent_max_buckets: int = 10,
        max_ahead_buckets: int = 2,
        max_partials: int = 256,
    ) -> None:
        if window_buckets < 1 or bucket_s <= 0:
            raise ValueError("window_buckets must be >= 1 and bucket_s > 0")
        self._clock = clock
        self.window_buckets = window_buckets
        self.bucket_s = bucket_s
        self.accuracy = relative_accuracy
        self.max_routes = max_routes
        self.recent_min_attempts = recent_min_attempts
        self.recent_max_buckets = recent_max_buckets
        self.max_ahead_buckets = max_ahead_buckets
        self.max_partials = max_partials
        #: How many buckets back from now a bucket settles at the latest (see :meth:`settled`).
        self.settle_buckets = 2
        #: Rows skipped: undecodable payload, another sketch accuracy, a route past the cap, a
        #: partial past :attr:`max_partials` in its bucket.
        self.rejected = 0
        self.last_rejection: str | None = None
        #: Rows ignored: already ingested (same replica, route and bucket number), or a partial no
        #: newer than what is held for that replica.
        self.duplicates = 0
        #: Well-formed rows outside the kept bucket numbers: in the totals, not in any window.
        self.outside = 0
        #: The highest row id seen (the next ``evidence_after`` starts here).
        self.last_id = 0
        self._slots: dict[str, dict[int, Slot]] = {}
        self._totals: dict[str, _Totals] = {}

    @property
    def window_s(self) -> float:
        """Longest span a read can cover."""
        return self.window_buckets * self.bucket_s

    def _now_tag(self) -> int:
        return math.floor(self._clock() / self.bucket_s)

    # -- writing ---------------------------------------------------------------------------------

    def ingest(self, rows: Iterable[EvidenceRow]) -> int:
        """Merge ``rows`` in; returns how many were accepted (bad ones count in
        :attr:`rejected`)."""
        now_tag = self._now_tag()
        self._prune(now_tag)
        oldest, newest = now_tag - self.window_buckets, now_tag + self.max_ahead_buckets
        accepted = 0
        for row in rows:
            self.last_id = max(self.last_id, row.id)
            try:
                bucket = decode_bucket(row.payload)
                if bucket.accuracy != self.accuracy:
                    raise ValueError(f"sketch accuracy {bucket.accuracy!r}, not {self.accuracy!r}")
                if row.route not in self._totals and len(self._totals) >= self.max_routes:
                    raise ValueError(f"more than {self.max_routes} routes")
            except ValueError as exc:
                self.rejected += 1
                self.last_rejection = f"row {row.id} from {row.replica!r}: {exc}"
                continue
            if not oldest <= row.tag <= newest:
                self.outside += 1
                if not bucket.partial:  # a partial's completed row will count
                    self._count(row.route, bucket, None)
                    accepted += 1
                continue
            slot = self._slots.setdefault(row.route, {}).get(row.tag)
            if slot is None:
                slot = self._slots[row.route][row.tag] = Slot(RouteBucket(self.accuracy))
            taken, held = slot.take(row.replica, bucket, self.max_partials)
            if not taken:
                if held is None:
                    self.rejected += 1
                    self.last_rejection = f"row {row.id}: over {self.max_partials} partials"
                else:
                    self.duplicates += 1
                continue
            self._count(row.route, bucket, held)
            accepted += 1
        return accepted

    def _count(self, route: str, bucket: RouteBucket, held: RouteBucket | None) -> None:
        """Add to the totals what ``bucket`` counts beyond ``held`` (the partial it replaces)."""
        totals = self._totals.setdefault(route, _Totals())
        for name, counts in bucket.backends.items():
            before = held.backends.get(name) if held is not None else None
            gained = counts.requests - (before.requests if before is not None else 0)
            totals.requests[name] += max(0, gained)  # monotonic, even for a shrinking replay
        shadow_before = held.shadow.events if held is not None else 0
        totals.shadow += max(0, bucket.shadow.events - shadow_before)

    def _prune(self, now_tag: int) -> None:
        oldest = now_tag - self.window_buckets
        for route in list(self._slots):
            slots = self._slots[route]
            for tag in [t for t in slots if t < oldest]:
                del slots[tag]
            if not slots:
                del self._slots[route]

    # -- reading (the WindowSource seam) ---------------------------------------------------------

    def _span(self, route: str, span_s: float) -> tuple[list[RouteBucket], float]:
        """Every part of the buckets ``span_s`` covers (the newest in progress), and that span."""
        count = max(1, round(min(span_s, self.window_s) / self.bucket_s))
        now = self._clock()
        now_tag = math.floor(now / self.bucket_s)
        slots = self._slots.get(route, {})
        found = [
            part
            for t in range(now_tag - count + 1, now_tag + 1)
            if t in slots
            for part in slots[t].parts()
        ]
        return found, (count - 1) * self.bucket_s + (now - now_tag * self.bucket_s)

    @staticmethod
    def _added(buckets: Iterable[RouteBucket], backend: str, accuracy: float) -> BackendBucket:
        total = BackendBucket(latency=LatencySketch(accuracy))
        for bucket in buckets:
            counts = bucket.backends.get(backend)
            if counts is not None:
                total.add(counts)
        return total

    def window(self, route: str, backend: str, span_s: float) -> WindowStats:
        """``backend``'s merged statistics on ``route`` over the last ``span_s`` seconds."""
        buckets, covered = self._span(route, span_s)
        total = self._added(buckets, backend, self.accuracy)
        return WindowStats(
            total.requests,
            total.errors,
            total.connect_errors,
            total.timeouts,
            total.latency,
            covered,
        )

    def settled_through(self, route: str) -> int:
        """The newest bucket number of ``route`` no more rows are expected for
        (:func:`~migration.cluster.slots.settled_through`)."""
        slots = self._slots.get(route, {})
        now_tag = self._now_tag()
        return settled_through(slots, now_tag, self.settle_buckets, self.max_ahead_buckets)

    def settled(self, route: str, backend: str, after_tag: int | None) -> tuple[WindowStats, int]:
        """Merged buckets ``after_tag + 1 ..`` :meth:`settled_through` (the step's evidence).

        Members publish four times a second and the leader reads as often, so a bucket usually
        settles within half a second of its end, and at the latest :attr:`settle_buckets` (2)
        buckets after its own (a later row still counts in the totals and the windows, not in the
        step's evidence). A partial still held then (a replica killed mid-bucket) counts.
        """
        if after_tag is None:  # the bucket in progress mixes the step's start with what came before
            return WindowStats.empty(), start_mark(self._clock(), self.bucket_s)
        newest = self.settled_through(route)
        if after_tag >= newest:
            return WindowStats.empty(), after_tag
        slots = self._slots.get(route, {})
        first = max(after_tag + 1, newest - self.window_buckets + 1)
        parts = (p for t in range(first, newest + 1) if t in slots for p in slots[t].parts())
        total = self._added(parts, backend, self.accuracy)
        stats = WindowStats(
            total.requests,
            total.errors,
            total.connect_errors,
            total.timeouts,
            total.latency,
            (newest - after_tag) * self.bucket_s,
        )
        return stats, newest

    def recent_attempts(self, route: str, backend: str) -> tuple[int, int]:
        """``(attempts, connect errors or timeouts)`` in the newest buckets (see above)."""
        slots = self._slots.get(route, {})
        now_tag = self._now_tag()
        attempts = failed = 0
        for tag in range(now_tag, now_tag - self.recent_max_buckets, -1):
            if tag in slots:
                counts = self._added(slots[tag].parts(), backend, self.accuracy)
                attempts += counts.requests
                failed += counts.connect_errors + counts.timeouts
            if attempts >= self.recent_min_attempts:
                break
        return attempts, failed

    def shadow(self, route: str, span_s: float) -> RateSample:
        """Shadow comparisons and mismatches over the span."""
        buckets, _ = self._span(route, span_s)
        return RateSample(sum(b.shadow.events for b in buckets), sum(b.shadow.bad for b in buckets))

    def contract(self, route: str, backend: str, span_s: float) -> RateSample:
        """Contract checks and violations of ``backend`` over the span."""
        buckets, _ = self._span(route, span_s)
        samples = [b.backends[backend].contract for b in buckets if backend in b.backends]
        return RateSample(sum(s.events for s in samples), sum(s.bad for s in samples))

    def total_requests(self, route: str, backend: str) -> int:
        """Attempts in every row ever ingested (monotonic; step progress counts it)."""
        totals = self._totals.get(route)
        return 0 if totals is None else totals.requests.get(backend, 0)

    def total_shadow(self, route: str) -> int:
        """Shadow comparisons in every row ever ingested."""
        totals = self._totals.get(route)
        return 0 if totals is None else totals.shadow

    # -- for status --------------------------------------------------------------------------------

    def routes(self) -> list[str]:
        """Routes any row was ingested for, sorted (operation keys not included)."""
        return sorted(key for key in self._totals if split_key(key)[1] is None)

    def operations(self, route: str) -> list[str]:
        """The operations of ``route`` any row was ingested for (``op_key(route, op)`` reads
        one)."""
        found = (split_key(key) for key in self._totals)
        return sorted(op for r, op in found if r == route and op is not None)

    def replicas(self, route: str) -> set[str]:
        """Replicas with a bucket of ``route`` in the window."""
        oldest = self._now_tag() - self.window_buckets
        slots = self._slots.get(route, {})
        return {r for tag, slot in slots.items() if tag >= oldest for r in slot.replicas}

    @property
    def bucket_count(self) -> int:
        """Merged buckets held (the memory bound: at most routes x (window + ahead + 1))."""
        return sum(len(slots) for slots in self._slots.values())
