"""Every migration gets an id; past migrations are read back from the route's events (issue #15).

An id is the route and the UTC second its plan started, ``tasks-20261206-094722`` (``-2``, ``-3``
for a second start in the same second): readable, sortable, typed by hand in
``cutover report --migration ID``. The controller keeps it in the route's state and stamps it on
every event it writes (:class:`~migration.state.Event` ``migration_id``).

History needs no table of its own: :func:`histories` folds a route's events into one
:class:`MigrationRecord` per id — outcome, start, end, duration, the highest weight reached, the
rollbacks, and the reasons of the final decision. It reaches as far back as the store keeps events
(``max_events``, 10,000 per route: a few hundred migrations). Events written before ids existed
are grouped from each ``started`` event to the next, under the id that start would have had.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from migration.state import Event

__all__ = ["MigrationRecord", "find", "histories", "migration_id"]

#: Event kinds that end a migration (for now: a rolled-back one can be resumed).
_ENDINGS = ("completed", "aborted", "rolled_back")


def migration_id(route: str, started_at: float, previous: str = "") -> str:
    """The id of ``route``'s migration started at ``started_at``; ``previous`` is the route's last
    id, so two starts within one second differ (``-2``, ``-3``)."""
    base = f"{route}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime(started_at))}"
    if previous == base:
        return f"{base}-2"
    head, _, tail = previous.rpartition("-")
    if head == base and tail.isdigit():
        return f"{base}-{int(tail) + 1}"
    return base


@dataclass
class MigrationRecord:
    """One migration of a route as its events tell it."""

    id: str
    route: str
    started_at: float
    last_at: float
    outcome: str  #: the phase after its newest event (running, paused, rolled_back, completed, …)
    reasons: tuple[str, ...] = ()  #: of the ending event once ended, else of the newest event
    max_weight_bps: int = 0
    rollbacks: int = 0
    events: int = 0

    @property
    def ended_at(self) -> float | None:
        """When it ended (completed, aborted, or rolled back and left there); None while active."""
        return self.last_at if self.outcome in ("completed", "aborted", "rolled_back") else None

    def duration_s(self, now: float) -> float:
        """From the start to the end, or to ``now`` while it goes on."""
        end = self.ended_at
        return (now if end is None else end) - self.started_at

    def to_dict(self, now: float) -> dict[str, Any]:
        """JSON for ``GET /migration/history``."""
        return {
            "id": self.id,
            "route": self.route,
            "outcome": self.outcome,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "duration_s": round(self.duration_s(now), 3),
            "max_weight_percent": self.max_weight_bps / 100,
            "rollbacks": self.rollbacks,
            "events": self.events,
            "reasons": list(self.reasons),
        }


def _ids(events: Iterable[Event]) -> Iterable[tuple[str, Event]]:
    """Each event with its migration id (legacy events: from the ``started`` before them)."""
    legacy: dict[str, str] = {}
    for e in events:
        if e.migration_id:
            yield e.migration_id, e
        elif e.kind == "started":
            legacy[e.route] = migration_id(e.route, e.at, legacy.get(e.route, ""))
            yield legacy[e.route], e
        elif e.route in legacy and e.kind != "weight_set":
            yield legacy[e.route], e


def histories(events: Sequence[Event]) -> list[MigrationRecord]:
    """One record per migration in ``events`` (oldest first, any routes), newest first."""
    records: dict[str, MigrationRecord] = {}
    for ident, e in _ids(events):
        record = records.get(ident)
        if record is None:
            record = records[ident] = MigrationRecord(ident, e.route, e.at, e.at, e.phase.value)
        record.last_at, record.outcome = e.at, e.phase.value
        record.events += 1
        record.max_weight_bps = max(record.max_weight_bps, e.weight_bps)
        if e.kind == "rolled_back":
            record.rollbacks += 1
        # An ended migration keeps its ending's reasons (a later re-evaluation at a step-down
        # weight, say, does not replace them); an active one shows its newest event's.
        if e.kind in _ENDINGS or record.outcome not in _ENDINGS:
            record.reasons = e.reasons
    return sorted(records.values(), key=lambda r: r.started_at, reverse=True)


def find(events: Sequence[Event], ident: str) -> MigrationRecord | None:
    """The record with id ``ident`` (None: not in the kept events)."""
    return next((r for r in histories(events) if r.id == ident), None)
