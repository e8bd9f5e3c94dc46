"""A step's evidence, accumulated from its start: what the sequential tests judge.

The windows answer "what happened in the last seconds" and forget; the sequential tests
(:mod:`migration.sequential`) need everything since the step began. The controller keeps one
:class:`StepEvidence` per route, reset when a step is entered (or resumed after a rollback or an
operator's pause), and at every evaluation adds the buckets the source has *settled* since the last
one (:class:`SettledSource`): whole buckets that will receive no more attempts. Memory is one
latency sketch per backend, whatever the step's length.

A bucket settles when its second is over (one process); on a cluster the leader also waits for the
replicas' publications (:class:`~migration.cluster.merged.MergedWindows` settles two buckets back).
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

__all__ = ["SettledSource", "StepEvidence"]


@runtime_checkable
class SettledSource(Protocol):
    """Window buckets that are complete: ``settled(route, backend, after_tag)``.

    Returns the merged statistics of the buckets numbered ``after_tag + 1 ..`` the newest settled
    one, and that number; with ``after_tag=None`` nothing (an empty window) and the number, so a
    caller starts counting from now. Buckets the window no longer keeps are gone (a caller reads
    at least once a minute).
    """

    def settled(
        self, route: str, backend: str, after_tag: int | None
    ) -> tuple[WindowStats, int]: ...


@dataclass
class _Totals:
    requests: int = 0
    errors: int = 0
    latency: LatencySketch = field(default_factory=LatencySketch)

    def add(self, stats: WindowStats) -> None:
        self.requests += stats.requests
        self.errors += stats.errors
        self.latency.merge(stats.latency)


class StepEvidence:
    """Both backends' requests, errors and latencies on one route since the step began."""

    def __init__(self) -> None:
        self._totals = {b: _Totals() for b in BACKENDS}
        self._after: dict[str, int | None] = dict.fromkeys(BACKENDS)

    def pull(self, source: SettledSource, route: str) -> None:
        """Add what ``source`` settled since the last pull (the first pull only marks the start)."""
        for backend in BACKENDS:
            stats, newest = source.settled(route, backend, self._after[backend])
            self._totals[backend].add(stats)
            self._after[backend] = newest

    def window(self, backend: str) -> BackendWindow:
        """The step's totals of ``backend`` as the analysis reads a window."""
        totals = self._totals[backend]
        return BackendWindow(totals.requests, totals.errors, totals.latency)

    @property
    def baseline(self) -> BackendWindow:
        """The baseline's step totals."""
        return self.window(BASELINE)

    @property
    def candidate(self) -> BackendWindow:
        """The candidate's step totals."""
        return self.window(CANDIDATE)
