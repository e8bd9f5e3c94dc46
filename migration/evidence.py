"""The analysis' inputs for one route, read through the seams: finished attempts and those in
flight.

Finished attempts come from the windows (:class:`~migration.seams.WindowSource`); a hung backend
finishes none, so the attempts still in flight (:class:`~migration.seams.InflightSource`) are read
too, against the ages the pure analysis defines (:func:`~migration.analysis.slow_after_s` for slow
samples, :func:`~migration.analysis.stuck_after_s` for the hard ``stuck`` check), both computed from
the baseline's finished attempts. Two in-flight scans per backend per evaluation, O(in flight) each.
"""

from __future__ import annotations

from dataclasses import replace

from migration.analysis import BackendWindow, slow_after_s, stuck_after_s
from migration.policy import Policy
from migration.seams import BASELINE, CANDIDATE, InflightSource, WindowSource

__all__ = ["read_windows"]


def _finished(source: WindowSource, route: str, backend: str, span_s: float) -> BackendWindow:
    stats = source.window(route, backend, span_s)
    attempts, no_answer = source.recent_attempts(route, backend)
    contract = source.contract(route, backend, span_s)
    return BackendWindow(stats.requests, stats.errors, stats.latency, attempts, no_answer, contract)


def read_windows(
    source: WindowSource, inflight: InflightSource | None, route: str, policy: Policy
) -> tuple[BackendWindow, BackendWindow]:
    """``(baseline, candidate)`` over the policy's window, with their attempts in flight."""
    base = _finished(source, route, BASELINE, policy.window_s)
    cand = _finished(source, route, CANDIDATE, policy.window_s)
    if inflight is None:
        return base, cand
    slow_s, stuck_s = slow_after_s(base, policy), stuck_after_s(base, policy)

    def with_inflight(window: BackendWindow, backend: str) -> BackendWindow:
        n, slow, oldest = inflight.inflight(route, backend, slow_s)
        _, stuck, _ = inflight.inflight(route, backend, stuck_s)
        return replace(
            window, inflight=n, slow_inflight=slow, stuck=stuck, oldest_inflight_s=oldest
        )

    return with_inflight(base, BASELINE), with_inflight(cand, CANDIDATE)
