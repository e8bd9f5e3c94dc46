"""``cutover_route_sticky_keys``: how many distinct sticky keys each route split on, at scrape time.

Read from the data path's :class:`~gateway.routing.KeySketch` es through
:meth:`GatewayState.sticky_keys`, so scraping costs one union of two 10,000-byte maps per route
and nothing per request beyond the mark the split makes. A route whose weight has not split
(0 % or 100 % throughout) reports 0; a process without a data path (a worker supervisor) reports
nothing, and its workers' series carry the ``worker`` label (:mod:`migration.worker_metrics`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from gateway.state import GatewayState

__all__ = ["StickyKeysCollector"]


class StickyKeysCollector(Collector):
    """One gauge sample per route: the distinct sticky keys of the last one to two minutes."""

    def __init__(self, state: GatewayState, clock: Callable[[], float] = time.time) -> None:
        self.state = state
        self.clock = clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """The family, or nothing while no proxy routes (no sketches yet)."""
        family = GaugeMetricFamily(
            "cutover_route_sticky_keys",
            "Distinct sticky keys (header, cookie or client address) the route's split saw in the "
            "last one to two minutes (linear counting over the 10,000 buckets)",
            labels=["route"],
        )
        now = self.clock()
        for route in self.state.route_names:
            keys = self.state.sticky_keys(route, now)
            if keys is not None:
                family.add_metric([route], keys)
        if family.samples:
            yield family
