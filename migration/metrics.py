"""MigrationMetrics: what the gateway observed, per route x backend, in bounded sliding windows.

The gateway calls :meth:`MigrationMetrics.observe` once per upstream attempt, the shadow component
calls :meth:`observe_shadow` / :meth:`observe_contract`; the controller reads windows back through
the :class:`~migration.seams.WindowSource` protocol, and the report builder reads them for seed
001's MigrationReport. Nothing here does I/O, and memory is fixed per route (two windows, a shadow
window, two contract windows, two short attempt rings), whatever the traffic.

What counts as an error (decided here, documented for the gateway): any attempt with an
``error_kind`` (connect, timeout, reset, fault, ...) and any response with status >= 500. What feeds
the latency sketch: answered attempts and timeouts (the client really waited that long); connect
errors, resets and injected aborts carry no latency information — their near-zero durations would
make a broken backend look fast.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from migration.operations import OTHER, op_key, split_key
from migration.seams import BACKENDS, RateSample
from migration.windows import Bucket, RecentAttempts, SlidingWindow, WindowStats, start_mark

__all__ = ["OTHER_ROUTE", "MigrationMetrics", "RouteSlots"]

#: Routes beyond ``max_routes`` are folded into this name so memory stays bounded.
OTHER_ROUTE = "_other"
#: Attempt outcomes that mean the backend did not answer at all (``recent_attempts`` counts them).
_NO_ANSWER = frozenset({"connect", "timeout"})
#: Error kinds that are timeouts to the analysis: the gateway's cut of a hung candidate at its
#: fallback deadline (``gateway.upstream.UpstreamFallbackDeadline``) is one, with a latency.
_TIMEOUT_KINDS = {"fallback_deadline": "timeout"}


@dataclass
class _RateWindow:
    """Count of events and of "bad" events, in a sliding window (shadow mismatch, violations)."""

    window: SlidingWindow
    total: int = 0

    def record(self, bad: bool) -> None:
        self.total += 1
        self.window.record(error=bad, kind=None, duration_s=None)

    def sample(self, span_s: float) -> RateSample:
        stats = self.window.stats(span_s)
        return RateSample(events=stats.requests, bad=stats.errors)


@dataclass(frozen=True)
class RouteSlots:
    """The raw window buckets of one route over a range of bucket numbers, oldest first per list.

    Live slots (see :meth:`SlidingWindow.buckets_between`): read them at once. In the rate windows
    a bucket's ``requests`` are the events and its ``errors`` the bad ones.
    """

    windows: dict[str, list[Bucket]]  # per backend: attempts, errors, latency
    contract: dict[str, list[Bucket]]  # per backend: contract checks, violations
    shadow: list[Bucket]  # shadow comparisons, mismatches


class _RouteMetrics:
    """All windows of one route."""

    def __init__(self, clock: Callable[[], float], size: int, bucket_s: float) -> None:
        self.windows = {b: SlidingWindow(clock, size=size, bucket_s=bucket_s) for b in BACKENDS}
        self.recent = {b: RecentAttempts(clock) for b in BACKENDS}
        self.totals = dict.fromkeys(BACKENDS, 0)
        self.shadow = _RateWindow(SlidingWindow(clock, size=size, bucket_s=bucket_s))
        self.contract = {
            b: _RateWindow(SlidingWindow(clock, size=size, bucket_s=bucket_s)) for b in BACKENDS
        }


class MigrationMetrics:
    """Sliding-window statistics of both backends, per route; implements the gateway observer."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        *,
        window_buckets: int = 60,
        bucket_s: float = 1.0,
        max_routes: int = 256,
        max_operations: int = 64,
    ) -> None:
        self._clock = clock
        self._size = window_buckets
        self._bucket_s = bucket_s
        self._max_routes = max_routes
        self._max_operations = max_operations
        self._routes: dict[str, _RouteMetrics] = {}
        self._operations: dict[str, dict[str, _RouteMetrics]] = {}

    @property
    def window_s(self) -> float:
        """Longest span a read can cover."""
        return self._size * self._bucket_s

    @property
    def bucket_s(self) -> float:
        """Length of one window bucket in seconds (bucket number =
        ``floor(clock() / bucket_s)``)."""
        return self._bucket_s

    @property
    def window_buckets(self) -> int:
        """How many buckets each window keeps."""
        return self._size

    def _route(self, route: str) -> _RouteMetrics:
        found = self._routes.get(route)
        if found is None:
            if len(self._routes) >= self._max_routes and route != OTHER_ROUTE:
                return self._route(OTHER_ROUTE)
            found = self._routes[route] = _RouteMetrics(self._clock, self._size, self._bucket_s)
        return found

    def _operation(self, route: str, operation: str) -> _RouteMetrics:
        """The windows of one operation of ``route`` (past ``max_operations``: its ``other``)."""
        ops = self._operations.setdefault(route, {})
        found = ops.get(operation)
        if found is None:
            if len(ops) >= self._max_operations and operation != OTHER:
                return self._operation(route, OTHER)
            found = ops[operation] = _RouteMetrics(self._clock, self._size, self._bucket_s)
        return found

    def _find(self, key: str) -> _RouteMetrics | None:
        """A route's windows, or an operation's by its key (``route/operation``)."""
        route, operation = split_key(key)
        if operation is None:
            return self._routes.get(route)
        return self._operations.get(route, {}).get(operation)

    def routes(self) -> list[str]:
        """Routes that have been observed, sorted (operation keys not included)."""
        return sorted(self._routes)

    def operations(self, route: str) -> list[str]:
        """The operations observed on ``route``, sorted (each readable as ``op_key(route, op)``)."""
        return sorted(self._operations.get(route, ()))

    def window_keys(self) -> list[str]:
        """Every route and every operation key (``route/operation``), sorted: what a member
        publishes."""
        ops = (op_key(r, op) for r, found in self._operations.items() for op in found)
        return sorted([*self._routes, *ops])

    # -- writing (the gateway and shadow seams) --------------------------------------------------

    def observe(
        self,
        route: str,
        backend: str,
        status: int,
        duration_s: float,
        error_kind: str | None,
        operation: str = "",
    ) -> None:
        """Record one upstream attempt (``backend`` is "baseline" or "candidate")."""
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        metrics = self._route(route)
        if error_kind is not None:
            error_kind = _TIMEOUT_KINDS.get(error_kind, error_kind)
        error = error_kind is not None or status >= 500
        latency = duration_s if error_kind is None or error_kind == "timeout" else None
        # "Unreachable" is any attempt that got no answer: a hung backend times out, it does not
        # refuse connections (issue #12, item 1).
        no_answer = error_kind in _NO_ANSWER
        metrics.windows[backend].record(error=error, kind=error_kind, duration_s=latency)
        metrics.recent[backend].record(no_answer)
        metrics.totals[backend] += 1
        if operation:
            found = self._operation(route, operation)
            found.windows[backend].record(error=error, kind=error_kind, duration_s=latency)
            found.recent[backend].record(no_answer)
            found.totals[backend] += 1

    def observe_shadow(self, route: str, mismatched: bool) -> None:
        """Record one shadow comparison of the two backends' responses."""
        self._route(route).shadow.record(mismatched)

    def observe_contract(self, route: str, backend: str, violated: bool) -> None:
        """Record one contract check of a response from ``backend``."""
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        self._route(route).contract[backend].record(violated)

    # -- reading (the WindowSource seam) -------------------------------------------------------

    def window(self, route: str, backend: str, span_s: float) -> WindowStats:
        """Merged statistics of ``backend`` on ``route`` over the last ``span_s`` seconds."""
        found = self._find(route)
        if found is None:
            return WindowStats.empty()
        return found.windows[backend].stats(span_s)

    def settled(self, route: str, backend: str, after_tag: int | None) -> tuple[WindowStats, int]:
        """Complete buckets since ``after_tag``
        (:class:`~migration.step_evidence.SettledSource`)."""
        found = self._find(route)
        if found is None:
            if after_tag is None:
                return WindowStats.empty(), start_mark(self._clock(), self._bucket_s)
            return WindowStats.empty(), max(after_tag, int(self._clock() // self._bucket_s) - 1)
        return found.windows[backend].settled(after_tag)

    def recent_attempts(self, route: str, backend: str) -> tuple[int, int]:
        """``(attempts, connect errors or timeouts)`` among ``backend``'s last attempts on
        ``route``."""
        found = self._find(route)
        return (0, 0) if found is None else found.recent[backend].counts()

    def shadow(self, route: str, span_s: float) -> RateSample:
        """Shadow comparisons and mismatches over the last ``span_s`` seconds."""
        found = self._find(route)
        return RateSample(0, 0) if found is None else found.shadow.sample(span_s)

    def contract(self, route: str, backend: str, span_s: float) -> RateSample:
        """Contract checks and violations of ``backend`` over the last ``span_s`` seconds."""
        found = self._find(route)
        return RateSample(0, 0) if found is None else found.contract[backend].sample(span_s)

    def total_requests(self, route: str, backend: str) -> int:
        """Attempts ever observed (monotonic while the process lives; step progress counts it)."""
        found = self._find(route)
        return 0 if found is None else found.totals[backend]

    def total_shadow(self, route: str) -> int:
        """Shadow comparisons ever observed on ``route``."""
        found = self._find(route)
        return 0 if found is None else found.shadow.total

    # -- raw buckets (what a cluster member publishes) -------------------------------------------

    def buckets(self, route: str, oldest_tag: int, newest_tag: int) -> RouteSlots | None:
        """Every window's buckets of ``route`` numbered ``oldest_tag..newest_tag``; None if
        unseen."""
        found = self._find(route)
        if found is None:
            return None
        return RouteSlots(
            windows={
                b: w.buckets_between(oldest_tag, newest_tag) for b, w in found.windows.items()
            },
            contract={
                b: c.window.buckets_between(oldest_tag, newest_tag)
                for b, c in found.contract.items()
            },
            shadow=found.shadow.window.buckets_between(oldest_tag, newest_tag),
        )
