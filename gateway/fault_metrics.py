"""The injected faults as Prometheus gauges, read at scrape time: the dashboard's fault panel.

An active fault changes what the controller sees, so an operator looking at a rollback must see
whether a rehearsal caused it (issue #15: "there is no fault panel"). The gauges are a collector
over the gateway's fault table (``GatewayState.faults``, backend → spec or ``None``) rather than
values the admin route sets, so they cannot drift from what the proxy applies — whichever path
changed the table (admin API, cluster config snapshot). Labels are the two backends only.

Kept out of :mod:`gateway.metrics`, which is compiled with mypyc on the hot path: a scrape-time
collector needs nothing from the request path.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from gateway.faults import FaultSpec

__all__ = ["FaultCollector"]

_ACTIVE = (
    "1 while a fault is injected in front of the backend (delay or abort; admin-only rehearsal)."
)
_DELAY = "Injected delay per hit request: the fixed, median or lower delay, in seconds."
_ABORT = "Share of hit requests the injected fault answers itself with its abort status (0..1)."
_FILTERED = "1 when the fault hits only some methods or paths, not every request."


class FaultCollector(Collector):
    """``cutover_fault_active``/``_delay_seconds``/``_abort_ratio``/``_filtered`` per backend."""

    def __init__(
        self, faults: Mapping[str, FaultSpec | None], registry: CollectorRegistry | None = None
    ) -> None:
        self.faults = faults
        if registry is not None:
            registry.register(self)

    def describe(self) -> Iterator[GaugeMetricFamily]:
        """The families without samples (the registry's duplicate check)."""
        yield from self._families()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """One sample per backend and family: zeros for a backend without a fault."""
        active, delay, abort, filtered = self._families()
        for backend, spec in sorted(self.faults.items()):
            on = spec is not None and spec.active
            active.add_metric([backend], 1.0 if on else 0.0)
            delay.add_metric([backend], spec.delay_ms / 1000 if spec is not None and on else 0.0)
            abort.add_metric(
                [backend], spec.abort_percent / 100 if spec is not None and on else 0.0
            )
            filtered.add_metric(
                [backend], 1.0 if spec is not None and on and spec.filtered else 0.0
            )
        yield from (active, delay, abort, filtered)

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, ...]:
        return (
            GaugeMetricFamily("cutover_fault_active", _ACTIVE, labels=["backend"]),
            GaugeMetricFamily("cutover_fault_delay_seconds", _DELAY, labels=["backend"]),
            GaugeMetricFamily("cutover_fault_abort_ratio", _ABORT, labels=["backend"]),
            GaugeMetricFamily("cutover_fault_filtered", _FILTERED, labels=["backend"]),
        )
