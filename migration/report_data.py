"""Seed 001's MigrationReport as plain data: both backends side by side, factors, the history.

:func:`build_report` gathers the numbers (windows, scraped memory, stored state, events and the
bounded snapshot ring) into a :class:`MigrationReport`; :mod:`migration.report` renders it.

Two spans: the side-by-side numbers are the live windows (the last ``window_s`` seconds); the
history (snapshots and events, which the charts draw) covers the migration from its latest
``started`` event to now, or from ``since`` (:func:`parse_since`: ``10m``, ``2h`` or an ISO time).

Improvement factors follow seed 001 — response_time = baseline p95 / candidate p95, memory =
baseline / candidate, throughput = candidate / baseline — and are ``None`` when a divisor is zero or
missing; each carries a one-line note saying what it means or why there is none. Throughput is
*share-normalised* and given only while the route's weight is strictly between 0 and 100 %: each
backend's observed rate is divided by its traffic share, so 1.0 means both served what the split
sent them. At 0 or 100 % (or with no known weight, all routes together) one backend gets all the
traffic and a ratio of rates compares nothing, so the note says that instead of printing ``0.00x``.
A passive window cannot measure capacity either way (that is what the load benchmarks are for).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from migration.history import find
from migration.memory import MemorySource
from migration.report_operations import OperationRow, operation_rows
from migration.seams import BACKENDS, BASELINE, CANDIDATE, ViewSource
from migration.sketch import LatencySketch
from migration.state import Event, MigrationState, Snapshot
from migration.store import StateStore
from migration.windows import WindowStats

__all__ = [
    "BackendSummary",
    "Factors",
    "MigrationReport",
    "UnknownMigration",
    "build_report",
    "parse_since",
]


@dataclass(frozen=True)
class BackendSummary:
    """One backend's numbers over the report window (seconds, bytes, requests/s, ratio)."""

    backend: str
    requests: int
    p50: float | None
    p95: float | None
    p99: float | None
    memory_bytes: float | None
    throughput_rps: float
    error_rate: float | None


@dataclass(frozen=True)
class Factors:
    """Seed 001's improvement factors (> 1 means the candidate is better), each with a note."""

    response_time: float | None
    memory: float | None
    throughput: float | None
    throughput_note: str
    response_time_note: str = ""
    memory_note: str = ""


@dataclass(frozen=True)
class MigrationReport:
    """Everything a report renderer needs, as plain data."""

    generated_at: float
    route: str | None
    window_s: float
    baseline: BackendSummary
    candidate: BackendSummary
    factors: Factors
    state: MigrationState | None = None
    events: tuple[Event, ...] = ()
    snapshots: tuple[Snapshot, ...] = ()
    operations: tuple[OperationRow, ...] = ()
    #: The controller's live A/A calibration of the route (``StepLedger.calibration``).
    calibration: Mapping[str, Any] | None = None
    #: Start of the history (snapshots, events) the report covers; ``None``: all that is stored.
    since: float | None = None
    #: End of that history (a past migration's end, ``--migration``); ``None``: up to now.
    until: float | None = None
    #: The migration the report is about when one was asked for by id.
    migration_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "generated_at": self.generated_at,
            "route": self.route,
            "window_s": self.window_s,
            "since": self.since,
            "until": self.until,
            "migration_id": self.migration_id,
            "baseline": asdict(self.baseline),
            "candidate": asdict(self.candidate),
            "improvement_factors": asdict(self.factors),
            "state": None if self.state is None else self.state.to_dict(),
            "events": [e.to_dict() for e in self.events],
            "snapshots": [s.to_dict() for s in self.snapshots],
            "operations": [o.to_dict() for o in self.operations],
            "calibration": None if self.calibration is None else dict(self.calibration),
        }


def _ratio(top: float | None, bottom: float | None) -> float | None:
    if top is None or bottom is None or bottom == 0:
        return None
    return top / bottom


def _stats(metrics: ViewSource, route: str | None, backend: str, span: float) -> WindowStats:
    if route is not None:
        return metrics.window(route, backend, span)
    parts = [metrics.window(r, backend, span) for r in metrics.routes()]
    if not parts:
        return WindowStats.empty(span)
    return WindowStats(
        sum(p.requests for p in parts),
        sum(p.errors for p in parts),
        sum(p.connect_errors for p in parts),
        sum(p.timeouts for p in parts),
        LatencySketch.merged(p.latency for p in parts),
        max(p.span_s for p in parts),
    )


def _summary(backend: str, stats: WindowStats, memory: float | None) -> BackendSummary:
    return BackendSummary(
        backend,
        stats.requests,
        stats.p(0.5),
        stats.p(0.95),
        stats.p(0.99),
        memory,
        stats.throughput,
        stats.error_rate,
    )


def _times(better: float) -> str:
    return f"{better:.2f}x" if better >= 1 else f"{1 / better:.2f}x"


def _factors(base: BackendSummary, cand: BackendSummary, weight_bps: int | None) -> Factors:
    rt = _ratio(base.p95, cand.p95)
    if rt is None:
        rt_note = "none: a backend has no latency samples in the window"
    else:
        rt_note = (
            f"candidate p95 is {_times(rt)} {'faster' if rt >= 1 else 'slower'} than baseline's"
        )
    mem = _ratio(base.memory_bytes, cand.memory_bytes)
    if mem is None:
        mem_note = "none: no resident memory scraped from both backends' /metrics"
    else:
        mem_note = f"candidate needs {_times(mem)} {'less' if mem >= 1 else 'more'} memory"
    if weight_bps is None:
        throughput = None
        note = "none: no single route's weight (all routes merged), so the shares are unknown"
    elif not 0 < weight_bps < 10_000:
        throughput = None
        note = (
            f"none: at {weight_bps / 100:g} % one backend gets all the traffic, "
            "so a ratio of request rates compares nothing"
        )
    else:
        share = weight_bps / 10_000
        throughput = _ratio(cand.throughput_rps / share, base.throughput_rps / (1 - share))
        note = f"share-normalised at {share:.0%} candidate weight (1.00x: each served its share)"
        if throughput is None:
            note = "none: the baseline served no requests in the window"
    return Factors(rt, mem, throughput, note, rt_note, mem_note)


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d)$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since(text: str, now: float) -> float:
    """``since`` as a time: a duration back from ``now`` (``90s``, ``10m``, ``2h``,
    ``1d``) or an ISO 8601 time (``2026-12-06T09:00:00Z``; without a zone, UTC).
    ``ValueError`` names the forms."""
    text = text.strip()
    found = _DURATION.match(text)
    if found:
        return now - float(found[1]) * _UNIT_S[found[2]]
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"since must be a duration (90s, 10m, 2h, 1d) or an ISO time, got {text!r}"
        ) from None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


def _migration_start(events: tuple[Event, ...]) -> float | None:
    """When the route's latest migration started (its newest ``started`` event)."""
    return next((e.at for e in reversed(events) if e.kind == "started"), None)


async def build_report(
    metrics: ViewSource,
    *,
    route: str | None = None,
    memory: MemorySource | None = None,
    store: StateStore | None = None,
    span_s: float | None = None,
    clock: Callable[[], float] = time.time,
    history: int = 5000,
    calibration: Mapping[str, Any] | None = None,
    since: float | None = None,
    migration: str | None = None,
) -> MigrationReport:
    """Collect the comparison data for ``route`` (or all routes merged).

    ``calibration``: the controller's live A/A calibration of ``route``, reported as one line.
    ``since``: the history's start (default: the latest migration's start, else all stored);
    ``history``: at most this many events are read (snapshots: the whole bounded ring).
    ``migration``: one migration by id (:mod:`migration.history`): its events, and the snapshots
    from its start to its end; :class:`UnknownMigration` when the kept events do not tell it.
    """
    span = metrics.window_s if span_s is None else span_s
    scraped = await memory.resident_memory() if memory is not None else {}
    stats = {b: _stats(metrics, route, b, span) for b in BACKENDS}
    base = _summary(BASELINE, stats[BASELINE], scraped.get(BASELINE))
    cand = _summary(CANDIDATE, stats[CANDIDATE], scraped.get(CANDIDATE))
    state, events, snaps = (
        await asyncio.to_thread(_stored, store, route, history)
        if store is not None
        else (None, (), ())
    )
    until: float | None = None
    if migration is not None:
        record = find(events, migration)
        if record is None or record.route != route:
            raise UnknownMigration(migration)
        since, until = record.started_at, record.ended_at
        events = tuple(
            e
            for e in events
            if e.migration_id == migration
            or (not e.migration_id and record.started_at <= e.at <= record.last_at)
        )
    elif since is None and route is not None:
        since = _migration_start(events)
    if since is not None:
        events = tuple(e for e in events if e.at >= since)
        snaps = tuple(s for s in snaps if s.at >= since)
    if until is not None:
        snaps = tuple(s for s in snaps if s.at <= until)
    weight = state.weight_bps if state is not None else None
    return MigrationReport(
        clock(),
        route,
        span,
        base,
        cand,
        _factors(base, cand, weight),
        state,
        events,
        snaps,
        operation_rows(metrics, route, span),
        calibration,
        since,
        until,
        migration,
    )


def _stored(
    store: StateStore, route: str | None, history: int
) -> tuple[MigrationState | None, tuple[Event, ...], tuple[Snapshot, ...]]:
    """The route's state, events and snapshots, read off the event loop (thousands of rows take
    tens of milliseconds to decode, a stall every proxied request on this loop would share)."""
    state = store.load(route) if route is not None else None
    events = tuple(store.events(route, limit=history))
    snaps = tuple(store.snapshots(route, 1_000_000)) if route else ()
    return state, events, snaps


class UnknownMigration(LookupError):
    """``--migration ID`` names no migration of the route in the kept events."""
