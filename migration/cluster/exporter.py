"""What one data-plane process publishes: its completed buckets once, its bucket in progress often.

The publisher's cycle (:class:`~migration.cluster.member.ClusterMember`, four times a second) is
``rows = export(now)``, ``store.publish_evidence(replica, rows)``, then :meth:`acknowledge` — only
after the store took them. A row is ``(route, tag, payload)`` (:mod:`migration.cluster.evidence`).

* **Completed buckets** (every bucket number below ``floor(now / bucket_s)``; no attempt recorded
  later can land in one, the clock has moved on) are encoded once, kept until acknowledged, and
  returned by every export until then, so a failed publish loses nothing still in the window; once
  acknowledged, never again (the store keeps a repeated identical row as it is, so a lost
  acknowledgement costs a resend, never a double count). How far back: at most the window
  (``metrics.window_buckets``); rows never acknowledged that fell out of it are counted in
  :attr:`dropped`. Encoding each once keeps an export's work to the new buckets and the partials
  however long the store is down (it used to re-encode the whole unpublished window four times a
  second).
* **The bucket in progress** goes out as a *partial* with every export: what this process has
  counted in it so far. The store replaces the row of the same replica, route and bucket number
  (a newer partial, then the completed bucket), and the leader's merge treats a partial as
  replaceable (:mod:`migration.cluster.merged`), so nothing counts twice. This is what lets the
  leader decide on evidence a quarter second old instead of a completed bucket plus the trip: one
  process reads its bucket in progress too. A partial is never exported for a bucket number whose
  completed row was already exported (a wall clock stepped back), so the store never sees a partial
  after the completed bucket of the same number.
* **Ordering.** One export holds the completed buckets *and* the partials, published in one
  transaction: a leader that sees a replica's partial for bucket ``n`` has every completed bucket
  of that replica below ``n`` (what lets it settle a bucket early, see
  :meth:`~migration.cluster.merged.MergedWindows.settled`).
"""

from __future__ import annotations

import math

from migration.cluster.evidence import RouteBucket, encode_bucket
from migration.metrics import MigrationMetrics
from migration.seams import RateSample
from migration.windows import Bucket

__all__ = ["BucketExporter", "Row"]

#: ``(route or operation key, bucket number, payload)``.
Row = tuple[str, int, str]


class BucketExporter:
    """Turns a member's window buckets into evidence rows (see the module docstring)."""

    def __init__(self, metrics: MigrationMetrics, *, partials: bool = True) -> None:
        self.metrics = metrics
        self.bucket_s = metrics.bucket_s
        #: Publish the bucket in progress too (False: completed buckets only, as before).
        self.partials = partials
        #: Rows exported, never acknowledged, that left the window before they could be.
        self.dropped = 0
        self._through: int | None = None  # newest bucket number encoded as completed
        self._unacked: list[Row] = []  # completed rows encoded, not acknowledged (oldest first)
        self._sent = 0  # how many of them the last export returned

    def export(self, now: float) -> list[Row]:
        """Completed rows not acknowledged yet, then the partials of the bucket in progress."""
        current = math.floor(now / self.bucket_s)
        oldest = current - self.metrics.window_buckets + 1
        kept = [row for row in self._unacked if row[1] >= oldest]
        self.dropped += len(self._unacked) - len(kept)
        start = oldest if self._through is None else max(oldest, self._through + 1)
        newest = current - 1
        if start <= newest:
            for route in self.metrics.window_keys():
                kept.extend(self._route_rows(route, start, newest, partial=False))
            self._through = newest
        self._unacked, self._sent = kept, len(kept)
        rows = list(kept)
        if self.partials and (self._through is None or current > self._through):
            for route in self.metrics.window_keys():
                rows.extend(self._route_rows(route, current, current, partial=True))
        return rows

    def acknowledge(self) -> None:
        """The rows of the last :meth:`export` are in the store: never export them again."""
        del self._unacked[: self._sent]
        self._sent = 0

    def _route_rows(self, route: str, oldest: int, newest: int, *, partial: bool) -> list[Row]:
        slots = self.metrics.buckets(route, oldest, newest)
        if slots is None:
            return []
        by_tag: dict[int, RouteBucket] = {}

        def at(slot: Bucket) -> RouteBucket:
            found = by_tag.get(slot.tag)
            if found is None:
                found = by_tag[slot.tag] = RouteBucket(slot.latency.accuracy, partial=partial)
            return found

        for backend, window in slots.windows.items():
            for slot in window:
                counts = at(slot).backend(backend)
                counts.requests, counts.errors = slot.requests, slot.errors
                counts.connect_errors, counts.timeouts = slot.connect_errors, slot.timeouts
                counts.latency = slot.latency
        for backend, window in slots.contract.items():
            for slot in window:
                at(slot).backend(backend).contract = RateSample(slot.requests, slot.errors)
        for slot in slots.shadow:
            at(slot).shadow = RateSample(slot.requests, slot.errors)
        return [
            (route, tag, encode_bucket(bucket))
            for tag, bucket in sorted(by_tag.items())
            if not bucket.empty
        ]
