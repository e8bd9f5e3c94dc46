"""The gateway's mutable state — route weights and faults — and the in-process API to change it.

The migration controller runs in the same event loop and calls :meth:`GatewayState.set_weight`
directly; the admin API calls the same methods. Every change is an audit event in the log and is
pushed to ``on_weight_change`` listeners (the state store persists weights that way). The data path
only reads plain containers (lists of weights and of fallback deadlines by route index, a dict of
faults), so a change is visible to the very next request and costs nothing per request.

Fallback deadlines (issue #12, item 1): a candidate attempt that may fall back waits at most
``fallback_after[route]`` seconds for its response head before the request goes to the baseline.
A route with a fixed ``fallback_after_s`` keeps it; an ``auto`` route starts at
:data:`AUTO_FALLBACK_AFTER_S` and then takes what the controller publishes with
:meth:`GatewayState.set_fallback_after` (derived from the baseline's recent p99), clamped here to
``[fallback_after_floor_s, candidate read timeout]`` so no published value can be absurd.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import structlog

from gateway.config import BACKENDS, GatewayConfig
from gateway.faults import FaultSpec
from gateway.metrics import GatewayMetrics
from gateway.routing import BUCKETS, KeySketch

log = structlog.get_logger("gateway.audit")


class WeightChange(NamedTuple):
    """One weight change, as listeners receive it: who made it and why (the audit trail)."""

    route: str
    old_bps: int
    new_bps: int
    actor: str
    reason: str | None


#: The deadline of an ``auto`` route before the controller has published one (or without a
#: controller, as in ``python -m gateway``): long enough for any healthy API answer seen in this
#: project, far below the 30 s read timeout a hung candidate used to cost.
AUTO_FALLBACK_AFTER_S = 5.0

WeightListener = Callable[[WeightChange], None]
"""Called as ``listener(change)`` after a weight changed (the migration store persists it)."""


class ChangeRefused(Exception):
    """A change the state's guard refused (the shared store cannot record
    it); the admin API says 503."""


ChangeGuard = Callable[[str, str, object, str, "str | None"], None]
"""Called as ``guard(kind, key, value, actor, reason)`` before a weight (``kind="weight"``, key the
route, value the bps) or a fault (``kind="fault"``, key the backend, value the spec or None)
changes; raising :class:`ChangeRefused` refuses it. Replicas publish operator changes to the shared
config snapshot this way, before applying them, so a change is either everywhere or nowhere."""


class UnknownRoute(KeyError):
    """No route has this name."""


class UnknownBackend(KeyError):
    """Neither ``baseline`` nor ``candidate``."""


def percent_to_bps(percent: float) -> int:
    """Convert a percentage (0..100, fractional allowed) to basis points, rounding to nearest."""
    return round(percent * 100)


class GatewayState:
    """Weights per route and faults per backend, shared by the data path and the admin API."""

    def __init__(self, config: GatewayConfig, metrics: GatewayMetrics | None = None) -> None:
        self.config = config
        self.route_names: tuple[str, ...] = tuple(r.name for r in config.routes)
        self._index = {name: i for i, name in enumerate(self.route_names)}
        self.weights: list[int] = [r.weight_bps for r in config.routes]
        self._read_timeout = config.candidate.read_timeout_s
        #: Seconds a candidate attempt that may fall back waits for its head, by route index.
        self.fallback_after: list[float] = [
            self._bounded(i, None) for i in range(len(self.weights))
        ]
        self.faults: dict[str, FaultSpec | None] = dict.fromkeys(BACKENDS)
        self.ready = False
        self._metrics = metrics
        self._listeners: list[WeightListener] = []
        #: Checked before every change (see :data:`ChangeGuard`); None: every change goes through.
        self.guard: ChangeGuard | None = None
        #: The data path's distinct-key sketches, by route index (set by the proxy that routes).
        self.key_sketches: tuple[KeySketch, ...] = ()
        if metrics is not None:
            for name, bps in zip(self.route_names, self.weights, strict=True):
                metrics.set_weight(name, bps)
            for name, seconds in zip(self.route_names, self.fallback_after, strict=True):
                metrics.set_fallback_after(name, seconds)

    # ----------------------------------------------------------------- weights

    def get_weights(self) -> dict[str, int]:
        """Current candidate weight of every route, in basis points."""
        return dict(zip(self.route_names, self.weights, strict=True))

    def get_weight(self, route: str) -> int:
        """Current candidate weight of ``route`` in basis points."""
        return self.weights[self._route_index(route)]

    def sticky_keys(self, route: str, now: float) -> int | None:
        """Distinct sticky keys ``route`` split on in the last minute or two (None: no data path).

        Counted only while the weight splits (0 < weight < 100 %): at 0 % and 100 % the split
        computes no key (it needs none), so a fresh ramp shows a count from its first split step.
        """
        index = self._route_index(route)
        if index >= len(self.key_sketches):
            return None
        return self.key_sketches[index].estimate(now)

    def set_weight(
        self, route: str, weight_bps: int, *, actor: str = "api", reason: str | None = None
    ) -> int:
        """Set ``route``'s candidate weight (0..10000 bps); returns the previous weight.

        ``actor`` and ``reason`` go to the audit line and to the listeners: the migration
        controller persists a manual weight with them and ignores its own (``actor="controller"``).
        """
        index = self._route_index(route)
        if isinstance(weight_bps, bool) or not isinstance(weight_bps, int):
            raise TypeError("weight_bps must be an int")
        if not 0 <= weight_bps <= BUCKETS:
            raise ValueError(f"weight_bps must be within 0..{BUCKETS}, got {weight_bps}")
        if self.guard is not None:
            self.guard("weight", route, weight_bps, actor, reason)
        old = self.weights[index]
        self.weights[index] = weight_bps
        if self._metrics is not None:
            self._metrics.set_weight(route, weight_bps)
        log.info(
            "weight_changed",
            route=route,
            old_bps=old,
            new_bps=weight_bps,
            actor=actor,
            reason=reason,
        )
        change = WeightChange(route, old, weight_bps, actor, reason)
        for listener in tuple(self._listeners):
            try:
                listener(change)
            except Exception as exc:  # a listener must not undo a change that happened
                log.error("weight_listener_failed", route=route, error=repr(exc))
        return old

    def on_weight_change(self, listener: WeightListener) -> Callable[[], None]:
        """Register ``listener``; returns a function that unregisters it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _route_index(self, route: str) -> int:
        try:
            return self._index[route]
        except KeyError:
            raise UnknownRoute(route) from None

    # ----------------------------------------------------------------- fallback deadlines

    def set_fallback_after(self, route: str, seconds: float | None) -> None:
        """Publish the ``auto`` fallback deadline of ``route`` (None: not known, use the default).

        Ignored for a route with a fixed ``fallback_after_s``; clamped to the route's floor and the
        candidate's read timeout. Called by the controller about once a second, so only a change of
        more than 10 % is logged.
        """
        index = self._route_index(route)
        if seconds is not None and (isinstance(seconds, bool) or not seconds > 0):
            raise ValueError(f"fallback deadline must be a positive number, got {seconds!r}")
        new = self._bounded(index, seconds)
        old = self.fallback_after[index]
        self.fallback_after[index] = new
        if self._metrics is not None:
            self._metrics.set_fallback_after(route, new)
        if abs(new - old) > 0.1 * old:
            log.info("fallback_after_changed", route=route, old_s=old, new_s=round(new, 3))

    def get_fallback_after(self) -> dict[str, float]:
        """The deadline in force per route, in seconds."""
        return dict(zip(self.route_names, self.fallback_after, strict=True))

    def _bounded(self, index: int, published: float | None) -> float:
        route = self.config.routes[index]
        if route.fallback_after_s is not None:
            return min(route.fallback_after_s, self._read_timeout)
        value = AUTO_FALLBACK_AFTER_S if published is None else published
        return min(max(value, route.fallback_after_floor_s), self._read_timeout)

    # ----------------------------------------------------------------- faults

    def set_fault(self, backend: str, spec: FaultSpec | None, *, actor: str = "api") -> None:
        """Set (or with None clear) the faults injected in front of ``backend``."""
        if backend not in self.faults:
            raise UnknownBackend(backend)
        if self.guard is not None:
            self.guard("fault", backend, spec, actor, None)
        active = spec if spec is not None and spec.active else None
        self.faults[backend] = active
        # The spec's JSON (as the admin API shows it), not its repr: log lines stay JSON values.
        fault = None if active is None else active.to_data()
        log.info("fault_changed", backend=backend, fault=fault, actor=actor)

    def get_fault(self, backend: str) -> FaultSpec | None:
        """The faults active for ``backend``, or None."""
        if backend not in self.faults:
            raise UnknownBackend(backend)
        return self.faults[backend]
