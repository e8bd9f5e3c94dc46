"""The leader's window source: every replica's published buckets, merged.

:class:`MergedWindows` implements :class:`~migration.seams.WindowSource` over evidence rows
(:class:`~migration.cluster.seams.EvidenceRow`, from ``ClusterStore.evidence_after``), so the
controller and :func:`~migration.evidence.read_windows` run unchanged on a cluster. Buckets merge by
adding counts and sketch bucket counts, never by averaging per-replica quantiles: the merged window
of three replicas holds exactly the counts and sketch bins one process would have for the same
attempts (``tests/migration/cluster/test_merged.py`` proves it).

Decided here, and why:

* **Spans cover completed buckets.** A member publishes a bucket once its second is over, so the
  newest bucket the leader can have is ``now_tag - 1`` (``now_tag = floor(now / bucket_s)``). A span
  of ``n`` seconds covers the ``n`` completed buckets ``now_tag - n .. now_tag - 1`` and reports
  ``WindowStats.span_s = n * bucket_s``; ``n = max(1, round(min(span_s, window) / bucket_s))``, as
  :meth:`SlidingWindow.stats <migration.windows.SlidingWindow.stats>` counts its buckets. The merged
  view therefore lags one process' by under a bucket plus the publish delay: within one interval.
* **Recent attempts** (the "is it reachable at all" check): a process keeps its last 20 attempts of
  the last 10 s; the order of attempts within a bucket does not travel, so the merged answer is the
  newest completed buckets, going back until they hold :attr:`recent_min_attempts` (20) attempts or
  :attr:`recent_max_buckets` (10) buckets were taken. Whole seconds, so the count may exceed 20 on a
  busy route; the check is a fraction, and a sudden outage fills the newest second first.
* **Memory** is bounded by the window, not by traffic or time: per route, one merged bucket (with
  the set of replicas in it) per bucket number from ``now_tag - window_buckets`` to ``now_tag +``
  :attr:`max_ahead_buckets` (hosts' clocks differ by a second or so); older ones are dropped as
  the clock moves. Routes are capped at ``max_routes``, as each member's metrics cap theirs.
* **Totals** (step progress) are monotonic: every well-formed row ever ingested counts once, also
  one too old for the window (its attempts still happened). A row is identified by ``(replica,
  route, tag)``: a repeat of a row still in the window is ignored (:attr:`duplicates`), so
  re-reading an overlap of the evidence table is harmless there; older rows cannot be checked, so
  the caller reads each row once (``evidence_after(last_id)``).
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
from migration.operations import split_key
from migration.seams import BACKENDS, RateSample
from migration.sketch import DEFAULT_RELATIVE_ACCURACY, LatencySketch
from migration.windows import WindowStats, start_mark

__all__ = ["MergedWindows"]


@dataclass
class _Slot:
    """Every replica's bucket of one route at one bucket number, added up."""

    bucket: RouteBucket
    replicas: set[str] = field(default_factory=set)


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
        #: How many buckets back from now a bucket counts as settled (see :meth:`settled`).
        self.settle_buckets = 2
        #: Rows skipped: undecodable payload, another sketch accuracy, a route past the cap.
        self.rejected = 0
        self.last_rejection: str | None = None
        #: Rows already ingested (same replica, route and bucket number): ignored.
        self.duplicates = 0
        #: Well-formed rows outside the kept bucket numbers: in the totals, not in any window.
        self.outside = 0
        #: The highest row id seen (the next ``evidence_after`` starts here).
        self.last_id = 0
        self._slots: dict[str, dict[int, _Slot]] = {}
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
            if oldest <= row.tag <= newest:
                slots = self._slots.setdefault(row.route, {})
                slot = slots.get(row.tag)
                if slot is None:
                    slot = slots[row.tag] = _Slot(RouteBucket(self.accuracy))
                elif row.replica in slot.replicas:
                    self.duplicates += 1
                    continue
                slot.bucket.merge(bucket)
                slot.replicas.add(row.replica)
            else:
                self.outside += 1
            totals = self._totals.setdefault(row.route, _Totals())
            for name, counts in bucket.backends.items():
                totals.requests[name] += counts.requests
            totals.shadow += bucket.shadow.events
            accepted += 1
        return accepted

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
        """The merged buckets of the completed buckets ``span_s`` covers, and that span."""
        count = max(1, round(min(span_s, self.window_s) / self.bucket_s))
        now_tag = self._now_tag()
        slots = self._slots.get(route, {})
        found = [slots[t].bucket for t in range(now_tag - count, now_tag) if t in slots]
        return found, count * self.bucket_s

    def window(self, route: str, backend: str, span_s: float) -> WindowStats:
        """``backend``'s merged statistics on ``route`` over the ``span_s`` s of completed
        buckets."""
        buckets, covered = self._span(route, span_s)
        total = BackendBucket(latency=LatencySketch(self.accuracy))
        for bucket in buckets:
            counts = bucket.backends.get(backend)
            if counts is not None:
                total.add(counts)
        return WindowStats(
            total.requests,
            total.errors,
            total.connect_errors,
            total.timeouts,
            total.latency,
            covered,
        )

    def settled(self, route: str, backend: str, after_tag: int | None) -> tuple[WindowStats, int]:
        """Merged buckets ``after_tag + 1 ..`` now - :attr:`settle_buckets` (the step's evidence).

        A bucket settles :attr:`settle_buckets` (2) buckets after its own: members publish four
        times a second and the leader reads as often, so every replica's row for it is in by then
        (a later one still counts in the totals and the windows, not in the step's evidence).
        """
        newest = self._now_tag() - self.settle_buckets
        if after_tag is None:  # the bucket in progress mixes the step's start with what came before
            return WindowStats.empty(), start_mark(self._clock(), self.bucket_s)
        if after_tag >= newest:
            return WindowStats.empty(), after_tag
        slots = self._slots.get(route, {})
        total = BackendBucket(latency=LatencySketch(self.accuracy))
        for tag in range(max(after_tag + 1, newest - self.window_buckets + 1), newest + 1):
            slot = slots.get(tag)
            counts = None if slot is None else slot.bucket.backends.get(backend)
            if counts is not None:
                total.add(counts)
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
        """``(attempts, connect errors or timeouts)`` in the newest completed buckets (see
        above)."""
        slots = self._slots.get(route, {})
        now_tag = self._now_tag()
        attempts = failed = 0
        for tag in range(now_tag - 1, now_tag - 1 - self.recent_max_buckets, -1):
            slot = slots.get(tag)
            counts = None if slot is None else slot.bucket.backends.get(backend)
            if counts is not None:
                attempts += counts.requests
                failed += counts.connect_errors + counts.timeouts
            if attempts >= self.recent_min_attempts:
                break
        return attempts, failed

    def shadow(self, route: str, span_s: float) -> RateSample:
        """Shadow comparisons and mismatches over the span's completed buckets."""
        buckets, _ = self._span(route, span_s)
        return RateSample(sum(b.shadow.events for b in buckets), sum(b.shadow.bad for b in buckets))

    def contract(self, route: str, backend: str, span_s: float) -> RateSample:
        """Contract checks and violations of ``backend`` over the span's completed buckets."""
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
