"""Test doubles for every migration seam, shipped with the package (as structlog ships its own).

* :class:`FakeClock` — a clock you move by hand; pass it to windows and the controller alike.
* :class:`RecordingWeights` — a :class:`~migration.seams.WeightControl` that remembers each call.
* :class:`InMemoryStore` — a :class:`~migration.store.StateStore` in a dict (same semantics, no
  disk); ``fail = True`` makes its writes raise, as a locked or full disk would.
* :class:`FakeInflight` — a :class:`~migration.seams.InflightSource` with attempts you start by
  hand.
* :class:`StaticMemory` — a :class:`~migration.memory.MemorySource` with fixed numbers.
* :class:`RecordingObserver` — an attempt/shadow observer that keeps what the gateway reported.
* :class:`RecordingSink` — an :class:`~migration.seams.EventSink` that keeps every event it is told
  of.
* :class:`ScriptedGate` — a :class:`~migration.seams.PromotionGate` that answers from a script.

The real :class:`~migration.metrics.MigrationMetrics` is pure, so tests use it directly as the
window source with a :class:`FakeClock` instead of faking it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from migration.seams import GateAnswer
from migration.snapshot_thinning import keep
from migration.state import Event, MigrationState, SavedEvidence, Snapshot

__all__ = [
    "FakeClock",
    "FakeInflight",
    "InMemoryStore",
    "RecordingObserver",
    "RecordingSink",
    "RecordingWeights",
    "ScriptedGate",
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
    """Remembers every ``set_weight`` call; ``fail`` makes the next calls raise.

    Routes never set read as weight 0, as a gateway's configured default would. ``actors`` keeps
    who made each call, and :meth:`operator_sets` changes a weight as the admin API would (the
    gateway applies it, then tells its listeners).
    """

    calls: list[tuple[str, int]] = field(default_factory=list)
    weights: dict[str, int] = field(default_factory=dict)
    actors: list[str] = field(default_factory=list)
    fail: bool = False
    listeners: list[Callable[[str, int, int, str, str | None], None]] = field(default_factory=list)

    def set_weight(self, route: str, bps: int, /, *, actor: str = "api") -> None:
        if self.fail:
            raise RuntimeError("gateway refused the weight")
        self.calls.append((route, bps))
        self.actors.append(actor)
        self.weights[route] = bps

    def get_weight(self, route: str, /) -> int:
        return self.weights.get(route, 0)

    def operator_sets(
        self, route: str, bps: int, actor: str = "admin:127.0.0.1", reason: str | None = None
    ) -> None:
        """A manual change: applied at once, then reported to the listeners."""
        old = self.weights.get(route, 0)
        self.weights[route] = bps
        for listener in self.listeners:
            listener(route, old, bps, actor, reason)


class FakeInflight:
    """Attempts in flight per (route, backend), each with its start time on a :class:`FakeClock`."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.started: dict[tuple[str, str], list[float]] = {}

    def start(self, route: str, backend: str, count: int = 1) -> None:
        """``count`` attempts begin now and never finish (until :meth:`finish`)."""
        self.started.setdefault((route, backend), []).extend([self.clock.now] * count)

    def finish(self, route: str, backend: str) -> None:
        """Every attempt of ``backend`` on ``route`` ends."""
        self.started.pop((route, backend), None)

    def inflight(self, route: str, backend: str, older_than_s: float, /) -> tuple[int, int, float]:
        ages = [self.clock.now - at for at in self.started.get((route, backend), ())]
        old = sum(1 for age in ages if age > older_than_s)
        return len(ages), old, max(ages, default=0.0)


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
        self.fail = False
        self._weights: dict[str, int] = {}
        self._evidence: dict[str, SavedEvidence] = {}

    def _write(self) -> None:
        if self.fail:
            raise OSError("database or disk is full")

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
        self._write()
        self.commits += 1
        self._states[state.route] = state
        self._add(events)
        if snapshot is not None:
            ring = self._snapshots.setdefault(snapshot.route, deque())
            ring.append(snapshot)
            kept = keep([s.at for s in ring], snapshot.at)  # thin, then bound: as the SQL stores
            if not all(kept):
                survivors = [s for s, k in zip(ring, kept, strict=True) if k]
                ring.clear()
                ring.extend(survivors)
            while len(ring) > self.max_snapshots:
                ring.popleft()

    def add_events(self, events: Sequence[Event]) -> None:
        """Append events on their own (a replica's report)."""
        self._write()
        self._add(events)

    def _add(self, events: Sequence[Event]) -> None:
        for event in events:
            self._events.setdefault(event.route, deque(maxlen=self.max_events)).append(event)
            self._order.append(event)

    def save_weight(self, route: str, weight_bps: int, events: Sequence[Event] = ()) -> None:
        self._write()
        self.commits += 1
        self._weights[route] = weight_bps
        self._add(events)

    def load_weights(self) -> dict[str, int]:
        return dict(self._weights)

    def save_evidence(self, saved: SavedEvidence) -> None:
        self._write()
        self._evidence[saved.route] = saved

    def load_evidence(self, route: str) -> SavedEvidence | None:
        return self._evidence.get(route)

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

    #: ``(route, backend, status, duration_s, error_kind, operation)`` per attempt.
    attempts: list[tuple[str, str, int, float, str | None, str]] = field(default_factory=list)
    shadows: list[tuple[str, bool]] = field(default_factory=list)
    contracts: list[tuple[str, str, bool]] = field(default_factory=list)

    def observe(
        self,
        route: str,
        backend: str,
        status: int,
        duration_s: float,
        error_kind: str | None,
        operation: str = "",
    ) -> None:
        self.attempts.append((route, backend, status, duration_s, error_kind, operation))

    def observe_shadow(self, route: str, mismatched: bool) -> None:
        self.shadows.append((route, mismatched))

    def observe_contract(self, route: str, backend: str, violated: bool) -> None:
        self.contracts.append((route, backend, violated))


@dataclass
class RecordingSink:
    """Keeps every ``(event, state)`` the controller emits; ``fail`` makes it raise."""

    emitted_events: list[tuple[Event, MigrationState | None]] = field(default_factory=list)
    fail: bool = False

    def emitted(self, event: Event, state: MigrationState | None) -> None:
        if self.fail:
            raise RuntimeError("sink broken")
        self.emitted_events.append((event, state))

    @property
    def kinds(self) -> list[str]:
        """The kinds of the events emitted, in order."""
        return [event.kind for event, _ in self.emitted_events]


@dataclass
class ScriptedGate:
    """Answers each ``ask`` with the next scripted answer; the last one repeats.

    ``asked`` keeps ``(route, step_index)`` per call.
    """

    script: list[GateAnswer] = field(default_factory=lambda: [GateAnswer(True)])
    asked: list[tuple[str, int]] = field(default_factory=list)

    def ask(self, state: MigrationState, reasons: Sequence[str]) -> GateAnswer:
        self.asked.append((state.route, state.step_index))
        return self.script.pop(0) if len(self.script) > 1 else self.script[0]
