"""Sliding windows as a time-bucketed ring: fixed memory whatever the traffic.

A window is ``size`` buckets of ``bucket_s`` seconds each. A bucket is tagged with the absolute
bucket number (``floor(t / bucket_s)``) it currently holds; when the clock moves on, a slot whose
tag is older than the window is recycled in place. Reading a span merges the buckets whose tags fall
in it, so a statistic over "the last 10 s" costs at most 10 bucket merges and never grows with the
request rate. The clock is injected (a callable returning seconds); tests drive it by hand.

The span read includes the current, still-filling bucket, so a span of ``n`` seconds covers between
``n - 1`` and ``n`` seconds of traffic; :attr:`WindowStats.span_s` says how much time was covered.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from migration.sketch import LatencySketch

__all__ = ["Bucket", "RecentAttempts", "SlidingWindow", "WindowStats", "start_mark"]

Clock = Callable[[], float]


def start_mark(now: float, bucket_s: float) -> int:
    """The last bucket holding any time before ``now``: evidence that starts at ``now`` counts the
    buckets after it (the one in progress mixes the start with what came before; at a bucket's
    exact start that is the previous bucket, and the new one is wholly the step's)."""
    return math.ceil(now / bucket_s) - 1


@dataclass
class Bucket:
    """Counts for one time slot of one route x backend."""

    tag: int = -1
    requests: int = 0
    errors: int = 0
    connect_errors: int = 0
    timeouts: int = 0
    latency: LatencySketch = field(default_factory=LatencySketch)

    def reset(self, tag: int) -> None:
        """Recycle this slot for bucket number ``tag``."""
        self.tag = tag
        self.requests = self.errors = self.connect_errors = self.timeouts = 0
        self.latency.clear()


@dataclass(frozen=True)
class WindowStats:
    """Merged statistics of one backend over a span of the window (plain values + a sketch)."""

    requests: int
    errors: int
    connect_errors: int
    timeouts: int
    latency: LatencySketch
    span_s: float

    @property
    def error_rate(self) -> float | None:
        """Errors per request, ``None`` without requests."""
        return self.errors / self.requests if self.requests else None

    @property
    def throughput(self) -> float:
        """Requests per second over the covered span."""
        return self.requests / self.span_s if self.span_s > 0 else 0.0

    def p(self, q: float) -> float | None:
        """Latency quantile (seconds) or ``None`` without latency samples."""
        return self.latency.quantile(q)

    @classmethod
    def empty(cls, span_s: float = 0.0) -> WindowStats:
        """Statistics of a window that saw nothing."""
        return cls(0, 0, 0, 0, LatencySketch(), span_s)


class SlidingWindow:
    """Per-second (by default) counters and latency sketches for one route x backend."""

    def __init__(self, clock: Clock, *, size: int = 60, bucket_s: float = 1.0) -> None:
        if size < 1:
            raise ValueError(f"window size must be >= 1 bucket, got {size}")
        if bucket_s <= 0:
            raise ValueError(f"bucket_s must be > 0, got {bucket_s}")
        self._clock = clock
        self.size = size
        self.bucket_s = bucket_s
        self._slots = [Bucket() for _ in range(size)]

    @property
    def length_s(self) -> float:
        """The longest span this window can answer for."""
        return self.size * self.bucket_s

    def _current(self) -> Bucket:
        tag = int(self._clock() // self.bucket_s)
        slot = self._slots[tag % self.size]
        if slot.tag != tag:
            slot.reset(tag)
        return slot

    def record(self, *, error: bool, kind: str | None, duration_s: float | None) -> None:
        """Count one attempt; ``duration_s`` is ``None`` when it carries no latency information."""
        bucket = self._current()
        bucket.requests += 1
        if error:
            bucket.errors += 1
        if kind == "connect":
            bucket.connect_errors += 1
        elif kind == "timeout":
            bucket.timeouts += 1
        if duration_s is not None:
            bucket.latency.add(max(duration_s, 0.0))

    def stats(self, span_s: float | None = None) -> WindowStats:
        """Merge the buckets of the last ``span_s`` seconds (the whole window by default)."""
        span = self.length_s if span_s is None else min(span_s, self.length_s)
        now = self._clock()
        newest = int(now // self.bucket_s)
        count = max(1, round(span / self.bucket_s))
        oldest = newest - count + 1
        requests = errors = connect = timeouts = 0
        sketch = LatencySketch()
        for slot in self._slots:
            if oldest <= slot.tag <= newest:
                requests += slot.requests
                errors += slot.errors
                connect += slot.connect_errors
                timeouts += slot.timeouts
                sketch.merge(slot.latency)
        covered = (count - 1) * self.bucket_s + (now - newest * self.bucket_s)
        return WindowStats(requests, errors, connect, timeouts, sketch, covered)

    def settled(self, after_tag: int | None) -> tuple[WindowStats, int]:
        """Buckets ``after_tag + 1 ..`` the last complete one (the one before the current), merged.

        With ``after_tag=None``: an empty window and the current bucket's number (see
        :class:`~migration.step_evidence.SettledSource`).
        """
        newest = int(self._clock() // self.bucket_s) - 1
        if after_tag is None:
            return WindowStats.empty(), start_mark(self._clock(), self.bucket_s)
        if after_tag >= newest:
            return WindowStats.empty(), after_tag
        requests = errors = connect = timeouts = 0
        sketch = LatencySketch()
        for slot in self.buckets_between(after_tag + 1, newest):
            requests += slot.requests
            errors += slot.errors
            connect += slot.connect_errors
            timeouts += slot.timeouts
            sketch.merge(slot.latency)
        span = (newest - after_tag) * self.bucket_s
        return WindowStats(requests, errors, connect, timeouts, sketch, span), newest

    def buckets_between(self, oldest_tag: int, newest_tag: int) -> list[Bucket]:
        """The slots holding bucket numbers ``oldest_tag..newest_tag`` (inclusive), oldest first.

        The live slots, not copies (a cluster exporter encodes them at once): read them before the
        clock moves ``size`` buckets on, when a slot is recycled. Bucket numbers nothing was
        recorded in have no slot and are absent.
        """
        found = [
            slot for slot in self._slots if slot.tag >= 0 and oldest_tag <= slot.tag <= newest_tag
        ]
        found.sort(key=lambda slot: slot.tag)
        return found


class RecentAttempts:
    """The outcome of the last ``size`` attempts, for "is the backend reachable at all" checks.

    A time window dilutes a sudden outage with the healthy seconds before it; the last N attempts do
    not, which is what lets an unreachable candidate be rolled back within one evaluation interval.
    Attempts older than ``max_age_s`` are ignored so that one failure burst long ago does not linger
    on a route that has since gone quiet.
    """

    def __init__(self, clock: Clock, *, size: int = 20, max_age_s: float = 10.0) -> None:
        self._clock = clock
        self.max_age_s = max_age_s
        self._items: deque[tuple[float, bool]] = deque(maxlen=size)

    def record(self, connect_error: bool) -> None:
        """Remember one attempt and whether it failed to connect."""
        self._items.append((self._clock(), connect_error))

    def counts(self) -> tuple[int, int]:
        """``(attempts, connect errors)`` among the remembered attempts still young enough."""
        cutoff = self._clock() - self.max_age_s
        fresh = [failed for at, failed in self._items if at >= cutoff]
        return len(fresh), sum(fresh)
