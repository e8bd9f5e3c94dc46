"""The narrow interfaces where migration meets the rest of Cutover.

Each seam is a :class:`typing.Protocol` with the fewest methods the migration needs, so wiring the
gateway in is a few lines and every seam has a fake in :mod:`migration.testing`:

* :class:`AttemptObserver` — the gateway reports every upstream attempt (implemented by
  :class:`~migration.metrics.MigrationMetrics`).
* :class:`ShadowObserver` — the shadow comparer reports mismatches and contract checks (same).
* :class:`WeightControl` — the controller sets a route's candidate weight (the gateway implements it).
* :class:`WindowSource` — the controller reads window statistics (MigrationMetrics implements it;
  a Prometheus-backed source for replicas can come later).
* :class:`Clock` — wall-clock seconds; the store persists these, tests pass a fake.

The state store protocol lives with its SQLite implementation in :mod:`migration.store`; the memory
scraper protocol in :mod:`migration.memory`.

Wiring, in the gateway's lifespan (a sketch; ``spawn`` is the gateway's named-task helper)::

    metrics = MigrationMetrics()                      # gateway observer + shadow observer
    store = SQLiteStore(settings.migration_db)
    controller = MigrationController(
        store=store, source=metrics, weights=router,  # router.set_weight(route, bps)
        policy=Policy.from_mapping(config.get("policy", {})),
        metrics=DecisionMetrics(registry), interval_s=1.0,
    )
    controller.recover()                              # re-apply stored weights after a restart
    spawn(controller.run(stop_event), name="migration-controller")
    report = await build_report(metrics, route="tasks", store=store,
                                memory=HttpMemoryScraper(client, {"baseline": ..., "candidate": ...}))

Admin API mapping: :class:`~migration.controller.MigrationError` → 409,
:class:`~migration.plan.PlanError` / ``ValueError`` from ``Policy.from_mapping`` → 400/422.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol

if TYPE_CHECKING:
    from migration.windows import WindowStats

__all__ = [
    "BACKENDS",
    "BASELINE",
    "CANDIDATE",
    "AttemptObserver",
    "Clock",
    "RateSample",
    "ShadowObserver",
    "WeightControl",
    "WindowSource",
]

BASELINE: Final = "baseline"
CANDIDATE: Final = "candidate"
BACKENDS: Final = (BASELINE, CANDIDATE)


@dataclass(frozen=True)
class RateSample:
    """``bad`` events out of ``events`` (shadow mismatches, contract violations)."""

    events: int
    bad: int

    @property
    def rate(self) -> float | None:
        """``bad / events``, ``None`` without events."""
        return self.bad / self.events if self.events else None


class Clock(Protocol):
    """Wall-clock time in seconds since the epoch."""

    def __call__(self) -> float: ...


class AttemptObserver(Protocol):
    """Called by the gateway once per upstream attempt, off the critical path."""

    def observe(
        self, route: str, backend: str, status: int, duration_s: float, error_kind: str | None
    ) -> None: ...


class ShadowObserver(Protocol):
    """Called by the shadow comparer for each comparison and each contract check."""

    def observe_shadow(self, route: str, mismatched: bool) -> None: ...

    def observe_contract(self, route: str, backend: str, violated: bool) -> None: ...


class WeightControl(Protocol):
    """The gateway's in-process weight setter: candidate share of ``route`` in basis points."""

    def set_weight(self, route: str, bps: int, /) -> object: ...


class WindowSource(Protocol):
    """What the controller reads to feed the analysis."""

    def window(self, route: str, backend: str, span_s: float) -> WindowStats: ...

    def recent_attempts(self, route: str, backend: str) -> tuple[int, int]: ...

    def shadow(self, route: str, span_s: float) -> RateSample: ...

    def contract(self, route: str, backend: str, span_s: float) -> RateSample: ...

    def total_requests(self, route: str, backend: str) -> int: ...

    def total_shadow(self, route: str) -> int: ...
