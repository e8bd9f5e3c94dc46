"""A step's evidence, accumulated from its start: what the sequential tests judge.

The windows answer "what happened in the last seconds" and forget; the sequential tests
(:mod:`migration.sequential`) need everything since the step began. The controller keeps one
:class:`StepEvidence` per route, reset when a step is entered (or resumed after a rollback or an
operator's pause), and at every evaluation adds the buckets the source has *settled* since the last
one (:class:`SettledSource`): whole buckets that will receive no more attempts. Memory is one
latency sketch per backend, whatever the step's length.

A bucket settles when its second is over (one process); on a cluster the leader also waits for the
replicas' publications (:class:`~migration.cluster.merged.MergedWindows` settles a bucket once every
recent replica has moved past it, at the latest two buckets back).
A leader that takes over, or a restarted gateway, starts a step's evidence afresh from the buckets
it can still see: the tests then need new evidence to conclude either way, which delays a decision
and never makes a wrong one likelier.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from migration.seams import BACKENDS, BASELINE, CANDIDATE
from migration.sketch import LatencySketch
from migration.verdict import BackendWindow
from migration.windows import WindowStats

__all__ = ["OperationSource", "SettledSource", "StepEvidence"]


@runtime_checkable
class SettledSource(Protocol):
    """Window buckets that are complete: ``settled(route, backend, after_tag)``.

    Returns the merged statistics of the buckets numbered ``after_tag + 1 ..`` the newest settled
    one, and that number; with ``after_tag=None`` nothing (an empty window) and the number of the
    bucket *in progress*, so a caller starts counting after it: that bucket mixes the step's first
    moment with traffic at the previous weight (counted, the second of a promotion took a 50 %
    step's observed share to 33 %), and a later pull returns nothing until it has settled. Buckets
    the window no longer keeps are gone (a caller reads at least once a minute).
    """

    def settled(
        self, route: str, backend: str, after_tag: int | None
    ) -> tuple[WindowStats, int]: ...


@runtime_checkable
class OperationSource(Protocol):
    """The operations seen on a route; ``op_key(route, operation)`` reads one like a route."""

    def operations(self, route: str) -> list[str]: ...


@dataclass
class _Totals:
    requests: int = 0
    errors: int = 0
    latency: LatencySketch = field(default_factory=LatencySketch)

    def add(self, stats: WindowStats) -> None:
        self.requests += stats.requests
        self.errors += stats.errors
        self.latency.merge(stats.latency)


def _window(totals: _Totals) -> BackendWindow:
    return BackendWindow(totals.requests, totals.errors, totals.latency)


class StepEvidence:
    """Both backends' requests, errors and latencies on one route since the step began.

    Also since each *restart*: every ``restart_s`` of settled evidence a new accumulator starts,
    and the ``keep`` newest are kept beside the whole step's (memory: ``keep + 1`` sketches per
    backend). The sequential harm tests judge each (:mod:`migration.step_checks` spends a
    decreasing share of the budget on later restarts), so a late regression is not diluted by a
    long healthy start.
    """

    def __init__(self, restart_s: float = 60.0, keep: int = 4) -> None:
        self._totals = {b: _Totals() for b in BACKENDS}
        self._after: dict[str, int | None] = dict.fromkeys(BACKENDS)
        self.restart_s = restart_s
        self.keep = keep
        self.seconds = 0.0
        self._restarts: list[tuple[int, dict[str, _Totals]]] = []
        #: The baseline's evidence dealt alternately into two halves, pull by pull: an A/A pair
        #: (same backend, same time) on which a harm test should fire only by false alarm.
        self._halves = (_Totals(), _Totals())
        self._pulls = 0

    def pull(self, source: SettledSource, route: str) -> None:
        """Add what ``source`` settled since the last pull (the first pull only marks the start)."""
        got = {}
        for backend in BACKENDS:
            stats, newest = source.settled(route, backend, self._after[backend])
            got[backend] = stats
            self._after[backend] = newest
        for backend, stats in got.items():
            self._totals[backend].add(stats)
            for _, totals in self._restarts:
                totals[backend].add(stats)
        self._halves[self._pulls % 2].add(got[BASELINE])
        self._pulls += 1
        self.seconds += got[BASELINE].span_s
        index = int(self.seconds // self.restart_s) if self.restart_s > 0 else 0
        if index > (self._restarts[-1][0] if self._restarts else 0):
            self._restarts.append((index, {b: _Totals() for b in BACKENDS}))
            del self._restarts[: -self.keep]

    def halves(self) -> tuple[BackendWindow, BackendWindow]:
        """The baseline's step evidence split in two interleaved halves (the live A/A pair)."""
        return _window(self._halves[0]), _window(self._halves[1])

    def restarts(self) -> tuple[tuple[int, BackendWindow, BackendWindow], ...]:
        """``(k, baseline, candidate)`` since each kept restart, oldest first."""
        return tuple(
            (k, _window(totals[BASELINE]), _window(totals[CANDIDATE]))
            for k, totals in self._restarts
        )

    def window(self, backend: str) -> BackendWindow:
        """The step's totals of ``backend`` as the analysis reads a window."""
        return _window(self._totals[backend])

    @property
    def baseline(self) -> BackendWindow:
        """The baseline's step totals."""
        return self.window(BASELINE)

    @property
    def candidate(self) -> BackendWindow:
        """The candidate's step totals."""
        return self.window(CANDIDATE)
