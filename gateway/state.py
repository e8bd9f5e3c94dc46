"""The gateway's mutable state — route weights and faults — and the in-process API to change it.

The migration controller runs in the same event loop and calls :meth:`GatewayState.set_weight`
directly; the admin API calls the same methods. Every change is an audit event in the log and is
pushed to ``on_weight_change`` listeners (the state store persists weights that way). The data path
only reads two plain containers (a list of weights by route index, a dict of faults), so a change is
visible to the very next request and costs nothing per request.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog

from gateway.config import BACKENDS, GatewayConfig
from gateway.faults import FaultSpec
from gateway.metrics import GatewayMetrics
from gateway.routing import BUCKETS

log = structlog.get_logger("gateway.audit")

WeightListener = Callable[[str, int, int], None]
"""Called as ``listener(route, old_bps, new_bps)`` after a weight changed."""


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
        self.faults: dict[str, FaultSpec | None] = dict.fromkeys(BACKENDS)
        self.ready = False
        self._metrics = metrics
        self._listeners: list[WeightListener] = []
        if metrics is not None:
            for name, bps in zip(self.route_names, self.weights, strict=True):
                metrics.set_weight(name, bps)

    # ----------------------------------------------------------------- weights

    def get_weights(self) -> dict[str, int]:
        """Current candidate weight of every route, in basis points."""
        return dict(zip(self.route_names, self.weights, strict=True))

    def get_weight(self, route: str) -> int:
        """Current candidate weight of ``route`` in basis points."""
        return self.weights[self._route_index(route)]

    def set_weight(self, route: str, weight_bps: int, *, actor: str = "api") -> int:
        """Set ``route``'s candidate weight (0..10000 bps); returns the previous weight."""
        index = self._route_index(route)
        if isinstance(weight_bps, bool) or not isinstance(weight_bps, int):
            raise TypeError("weight_bps must be an int")
        if not 0 <= weight_bps <= BUCKETS:
            raise ValueError(f"weight_bps must be within 0..{BUCKETS}, got {weight_bps}")
        old = self.weights[index]
        self.weights[index] = weight_bps
        if self._metrics is not None:
            self._metrics.set_weight(route, weight_bps)
        log.info("weight_changed", route=route, old_bps=old, new_bps=weight_bps, actor=actor)
        for listener in tuple(self._listeners):
            try:
                listener(route, old, weight_bps)
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

    # ----------------------------------------------------------------- faults

    def set_fault(self, backend: str, spec: FaultSpec | None, *, actor: str = "api") -> None:
        """Set (or with None clear) the faults injected in front of ``backend``."""
        if backend not in self.faults:
            raise UnknownBackend(backend)
        self.faults[backend] = spec if spec is not None and spec.active else None
        log.info("fault_changed", backend=backend, fault=repr(spec), actor=actor)

    def get_fault(self, backend: str) -> FaultSpec | None:
        """The faults active for ``backend``, or None."""
        if backend not in self.faults:
            raise UnknownBackend(backend)
        return self.faults[backend]
