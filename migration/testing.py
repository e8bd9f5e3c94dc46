"""Test doubles for every migration seam, shipped with the package (as structlog ships its own).

* :class:`FakeClock` — a clock you move by hand; pass it to windows and the controller alike.
* :class:`RecordingWeights` — a :class:`~migration.seams.WeightControl` that remembers each call.
* :class:`InMemoryStore` — a :class:`~migration.store.StateStore` in a dict (same semantics, no disk).
* :class:`StaticMemory` — a :class:`~migration.memory.MemorySource` with fixed numbers.
* :class:`RecordingObserver` — an attempt/shadow observer that keeps what the gateway reported.

The real :class:`~migration.metrics.MigrationMetrics` is pure, so tests use it directly as the
window source with a :class:`FakeClock` instead of faking it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from migration.state import Event, MigrationState, Snapshot

__all__ = [
    "FakeClock",
    "InMemoryStore",
    "RecordingObserver",
    "RecordingWeights",
    "StaticMemory",
]


class FakeClock:
    """Seconds that only move when told to; starts at an arbitrary but realistic epoch."""

    def __init__(self, start: float = 1_764_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        """Move forward ``seconds`` and return the new time."""
        self.now += seconds
        return self.now


@dataclass
class RecordingWeights:
    """Remembers every ``set_weight`` call; ``fail`` makes the next calls raise."""

    calls: list[tuple[str, int]] = field(default_factory=list)
    weights: dict[str, int] = field(default_factory=dict)
    fail: bool = False

    def set_weight(self, route: str, bps: int) -> None:
        if self.fail:
            raise RuntimeError("gateway refused the weight")
        self.calls.append((route, bps))
        self.weights[route] = bps


class InMemoryStore:
    """A :class:`~migration.store.StateStore` kept in memory, with the same bounds as SQLite's."""

    def __init__(self, *, max_snapshots: int = 2000, max_events: int = 10_000) -> None:
        self._states: dict[str, MigrationState] = {}
        self._events: dict[str, deque[Event]] = {}
        self._order: deque[Event] = deque(maxlen=max_events)
        self._snapshots: dict[str, deque[Snapshot]] = {}
        self.max_snapshots = max_snapshots
        self.max_events = max_events
        self.commits = 0

    def load(self, route: str) -> MigrationState | None:
        return self._states.get(route)

    def load_all(self) -> list[MigrationState]:
        return [self._states[r] for r in sorted(self._states)]

    def commit(
        self,
        state: MigrationState,
        events: Sequence[Event] = (),
        snapshot: Snapshot | None = None,
    ) -> None:
        self.commits += 1
        self._states[state.route] = state
        for event in events:
            self._events.setdefault(event.route, deque(maxlen=self.max_events)).append(event)
            self._order.append(event)
        if snapshot is not None:
            ring = self._snapshots.setdefault(snapshot.route, deque(maxlen=self.max_snapshots))
            ring.append(snapshot)

    def events(self, route: str | None = None, limit: int = 100) -> list[Event]:
        if route is None:
            return list(self._order)[-limit:]
        return list(self._events.get(route, ()))[-limit:]

    def snapshots(self, route: str, limit: int = 1000) -> list[Snapshot]:
        return list(self._snapshots.get(route, ()))[-limit:]


class StaticMemory:
    """A memory source that answers with fixed numbers."""

    def __init__(self, values: Mapping[str, float | None]) -> None:
        self.values = dict(values)

    async def resident_memory(self) -> dict[str, float | None]:
        return dict(self.values)


@dataclass
class RecordingObserver:
    """Keeps every observation, for gateway tests that check what was reported."""

    attempts: list[tuple[str, str, int, float, str | None]] = field(default_factory=list)
    shadows: list[tuple[str, bool]] = field(default_factory=list)
    contracts: list[tuple[str, str, bool]] = field(default_factory=list)

    def observe(
        self, route: str, backend: str, status: int, duration_s: float, error_kind: str | None
    ) -> None:
        self.attempts.append((route, backend, status, duration_s, error_kind))

    def observe_shadow(self, route: str, mismatched: bool) -> None:
        self.shadows.append((route, mismatched))

    def observe_contract(self, route: str, backend: str, violated: bool) -> None:
        self.contracts.append((route, backend, violated))
