"""The narrow interfaces where migration meets the rest of Cutover.

Each seam is a :class:`typing.Protocol` with the fewest methods the migration needs, so wiring the
gateway in is a few lines and every seam has a fake in :mod:`migration.testing`:

* :class:`AttemptObserver` — the gateway reports every upstream attempt (implemented by
  :class:`~migration.metrics.MigrationMetrics`): :class:`gateway.observer.RequestObserver`, the
  gateway's own declaration, re-exported under the migration's name.
* :class:`ShadowObserver` — the shadow comparer reports mismatches and contract checks (same): the
  gateway's two observer protocols (:mod:`gateway.observer`) combined, not declared again.
* :class:`WeightControl` — the controller sets and reads a route's candidate weight (the gateway's
  state implements it); reading lets it re-apply the stored weight when the live one differs.
* :class:`InflightSource` — attempts still waiting for an upstream (the proxy implements it): a hung
  candidate finishes nothing, so only what is *in flight* shows it.
* :class:`FallbackDeadlines` — where the controller publishes each route's ``auto`` candidate
  fallback deadline (the gateway's state implements it).
* :class:`WindowSource` — the controller reads window statistics (MigrationMetrics implements it;
  a Prometheus-backed source for replicas can come later).
* :class:`Clock` — wall-clock seconds; the store persists these, tests pass a fake.
* :class:`EventSink` — told of every event the controller commits (notifications, the
  post-rollback hook); it must return at once and never raise.
* :class:`PromotionGate` — consulted when the analysis would promote a step on its own (the
  pre-promotion hook); it answers at once, :class:`GateAnswer`, and never makes the controller wait.

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
    report = await build_report(
        metrics, route="tasks", store=store,
        memory=HttpMemoryScraper(client, {"baseline": ..., "candidate": ...}),
    )

Admin API mapping: :class:`~migration.controller.MigrationError` → 409,
:class:`~migration.plan.PlanError` / ``ValueError`` from ``Policy.from_mapping`` → 400/422.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol

from gateway.observer import ContractObserver
from gateway.observer import RequestObserver as AttemptObserver
from gateway.observer import ShadowObserver as GatewayShadowObserver

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from migration.state import Event, MigrationState
    from migration.windows import WindowStats

__all__ = [
    "BACKENDS",
    "BASELINE",
    "CANDIDATE",
    "AttemptObserver",
    "Clock",
    "EventSink",
    "FallbackDeadlines",
    "GateAnswer",
    "InflightSource",
    "PromotionGate",
    "RateSample",
    "ShadowObserver",
    "ViewSource",
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


class EventSink(Protocol):
    """Called after each event the controller commits, with the state it committed alongside.

    ``state`` is None for an event without a migration (a manual weight on a route with none). The
    call runs inside the controller's evaluation: queue the work and return.
    """

    def emitted(self, event: Event, state: MigrationState | None) -> None: ...


@dataclass(frozen=True)
class GateAnswer:
    """A promotion gate's answer: promote now, or hold (pending or denied) and say why.

    ``outcome``, when set, is a finished call not yet reported; the controller records it once as a
    ``hook`` event with ``reasons``.
    """

    approved: bool
    reasons: tuple[str, ...] = ()
    outcome: Mapping[str, Any] | None = None


class PromotionGate(Protocol):
    """Asked when the analysis would promote ``state``'s step without an operator."""

    def ask(self, state: MigrationState, reasons: Sequence[str]) -> GateAnswer: ...


class ShadowObserver(GatewayShadowObserver, ContractObserver, Protocol):
    """Both of the shadow comparer's reports: comparisons and contract checks."""


class WeightControl(Protocol):
    """The gateway's in-process weights: candidate share of ``route`` in basis points.

    The controller sets weights as ``actor="controller"``, which is how its own changes are told
    apart from an operator's when the gateway reports every change back.
    """

    def set_weight(self, route: str, bps: int, /, *, actor: str = ...) -> object: ...

    def get_weight(self, route: str, /) -> int: ...


class InflightSource(Protocol):
    """Upstream attempts not finished yet, per route and backend.

    ``inflight(route, backend, older_than_s)`` is ``(in flight, older than older_than_s, oldest
    age in seconds)``; it scans the in-flight set, so it is called about once per evaluation,
    never per request.
    """

    def inflight(
        self, route: str, backend: str, older_than_s: float, /
    ) -> tuple[int, int, float]: ...


class FallbackDeadlines(Protocol):
    """Publishes how long a candidate attempt may wait before its request falls back (None:
    unknown)."""

    def set_fallback_after(self, route: str, seconds: float | None, /) -> None: ...


class WindowSource(Protocol):
    """What the controller reads to feed the analysis."""

    def window(self, route: str, backend: str, span_s: float) -> WindowStats: ...

    def recent_attempts(self, route: str, backend: str) -> tuple[int, int]: ...

    def shadow(self, route: str, span_s: float) -> RateSample: ...

    def contract(self, route: str, backend: str, span_s: float) -> RateSample: ...

    def total_requests(self, route: str, backend: str) -> int: ...

    def total_shadow(self, route: str) -> int: ...


class ViewSource(WindowSource, Protocol):
    """What the admin views and the report read: the windows, plus their routes and length.

    :class:`~migration.metrics.MigrationMetrics` (one process) and
    :class:`~migration.cluster.merged.MergedWindows` (every replica's evidence) implement it.
    """

    @property
    def window_s(self) -> float: ...

    def routes(self) -> list[str]: ...
