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
A restart does not start the evidence over (issue #14: "a crash or restart loses no task and no
migration state"). The controller saves each route's evidence (and its operations') to the state
store every few seconds and at a clean shutdown (:meth:`StepEvidence.to_data`,
:mod:`migration.evidence_saver`); a restarted gateway, or a new cluster leader, resumes the same
step's evidence from the last save (:meth:`StepEvidence.from_data`), and its first pull only marks
where counting resumes, as a new step's does: buckets are never added twice.

Why evidence with a hole in it is still valid for the always-valid tests: the hole (the seconds
between the last save and the crash, and the downtime until the first pull of the restarted
process) is chosen by a crash or a deploy, not by the outcome, and it removes the same stretch of
time from both backends. The confidence sequences (:mod:`migration.sequential`) hold at every
sample size whatever the stopping rule, so their guarantee does not need the samples to be
contiguous in time, only that which samples are seen does not depend on their values; a test
resumed after a gap is the same test read on a subsequence chosen independently of the data.
What the gap costs is the evidence it held (a few seconds at most of saved progress), never an
error rate. Restarts (every ``restart_s``) count settled *seconds*, so they stay on the step's
evidence clock, not the wall clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from migration.cluster.evidence import BackendBucket, RouteBucket, bucket_doc, bucket_from_doc
from migration.seams import BACKENDS, BASELINE, CANDIDATE
from migration.sketch import LatencySketch
from migration.verdict import BackendWindow
from migration.windows import WindowStats

__all__ = ["DATA_VERSION", "OperationSource", "SettledSource", "StepEvidence"]

#: The version of :meth:`StepEvidence.to_data`'s document; another one is not restored.
DATA_VERSION = 1


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


def _doc(totals: dict[str, _Totals]) -> dict[str, Any]:
    """Per-backend totals as one cluster evidence bucket's document (the same codec)."""
    bucket = RouteBucket(next(iter(totals.values())).latency.accuracy)
    for backend, t in totals.items():
        bucket.backends[backend] = BackendBucket(t.requests, t.errors, latency=t.latency)
    return bucket_doc(bucket)


def _totals(doc: object, backends: tuple[str, ...] = BACKENDS) -> dict[str, _Totals]:
    bucket = bucket_from_doc(doc)
    out = {}
    for backend in backends:
        found = bucket.backends.get(backend)
        if found is None:
            out[backend] = _Totals(latency=LatencySketch(bucket.accuracy))
        else:
            out[backend] = _Totals(found.requests, found.errors, found.latency)
    return out


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

    def to_data(self) -> dict[str, Any]:
        """Everything but the pull marks, as JSON-ready data (:meth:`from_data` restores it).

        Each accumulator is written as a cluster evidence bucket's document
        (:func:`~migration.cluster.evidence.bucket_doc`): one codec for sketches, checked as
        strictly on the way back. The sketches' exact sums are not kept (nothing judges them).
        """
        return {
            "v": DATA_VERSION,
            "restart_s": self.restart_s,
            "keep": self.keep,
            "seconds": self.seconds,
            "pulls": self._pulls,
            "step": _doc(self._totals),
            "restarts": [[k, _doc(totals)] for k, totals in self._restarts],
            "halves": [_doc({BASELINE: half}) for half in self._halves],
        }

    @classmethod
    def from_data(cls, data: object) -> StepEvidence:
        """The evidence :meth:`to_data` wrote, with no pull marks: its first :meth:`pull` only
        marks where counting resumes. :class:`ValueError` for anything else."""
        if not isinstance(data, dict):
            raise ValueError("step evidence is not a JSON object")
        if data.get("v") != DATA_VERSION:
            raise ValueError(f"step evidence version {data.get('v')!r}, expected {DATA_VERSION}")
        try:
            evidence = cls(float(data["restart_s"]), int(data["keep"]))
            evidence.seconds = float(data["seconds"])
            evidence._pulls = int(data["pulls"])
            evidence._totals = _totals(data["step"])
            evidence._restarts = [(int(k), _totals(doc)) for k, doc in data["restarts"]]
            first, second = (_totals(doc, (BASELINE,))[BASELINE] for doc in data["halves"])
        except (KeyError, TypeError) as exc:
            raise ValueError(f"step evidence is malformed: {exc!r}") from None
        evidence._halves = (first, second)
        return evidence

    @property
    def candidate_requests(self) -> int:
        """The candidate's requests counted so far in the step."""
        return self._totals[CANDIDATE].requests

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
